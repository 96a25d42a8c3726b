"""Evaluation: ranking metrics as plain functions, shared by search, bundles and the LLM paradigms."""

from kit.eval.metrics import (
    catalog_coverage,
    hit_rate_at_k,
    intra_list_diversity,
    long_tail_items,
    long_tail_share,
    mrr,
    ndcg_at_k,
    novelty,
    popularity_gini,
    precision_at_k,
    recall_at_k,
)

__all__ = ["catalog_coverage", "hit_rate_at_k", "intra_list_diversity", "long_tail_items", "long_tail_share", "mrr",
           "ndcg_at_k", "novelty", "popularity_gini", "precision_at_k", "recall_at_k"]
