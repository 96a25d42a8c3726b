"""Catalog enrichment: attributes read from photos and titles by supervised heads, with calibrated confidence.

    >>> heads = train_heads(train_items, ["articleType", "baseColour"], view="photo", val_items=val_items)
    >>> result = enrich(catalog, heads)           # fills only missing labels, only where confident
    >>> result.report["baseColour"].filled        # what it filled; it never overwrites a label

The heads are scikit-learn logistic regressions over the kit's cached tower features (the frozen
efficientnet-lite0 trunk for photos, MiniLM for titles), so training every head takes seconds.
"""

from kit.enrich.features import VIEWS, FeatureView, item_features
from kit.enrich.fill import EnrichResult, Fill, enrich, save_enriched
from kit.enrich.heads import AttributeHead, HeadQuality, evaluate_head, load_heads, save_heads, train_head, train_heads
from kit.enrich.recipe import Refill, Splits, catalog_splits, hide_and_refill, measure, saved_heads, train_catalog_heads

__all__ = ["VIEWS", "AttributeHead", "EnrichResult", "FeatureView", "Fill", "HeadQuality", "Refill", "Splits",
           "catalog_splits", "enrich", "evaluate_head", "hide_and_refill", "item_features", "load_heads", "measure",
           "save_enriched", "save_heads", "saved_heads", "train_catalog_heads", "train_head", "train_heads"]
