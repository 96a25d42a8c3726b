"""Evaluation: ranking metrics as plain functions, shared by search, bundles and the LLM paradigms."""

from kit.eval.metrics import (
    bootstrap_interval,
    catalog_coverage,
    hit_rate_at_k,
    intra_list_diversity,
    kendall_tau,
    long_tail_items,
    long_tail_share,
    mrr,
    ndcg_at_k,
    novelty,
    popularity_gini,
    precision_at_k,
    recall_at_k,
)

__all__ = ["bootstrap_interval", "catalog_coverage", "hit_rate_at_k", "intra_list_diversity", "kendall_tau", "long_tail_items", "long_tail_share", "mrr",
           "ndcg_at_k", "novelty", "popularity_gini", "precision_at_k", "recall_at_k"]
