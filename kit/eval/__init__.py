"""Evaluation: ranking metrics as plain functions, shared by search, bundles and the LLM paradigms."""

from kit.eval.metrics import (
    catalog_coverage,
    hit_rate_at_k,
    intra_list_diversity,
    mrr,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

__all__ = ["catalog_coverage", "hit_rate_at_k", "intra_list_diversity", "mrr", "ndcg_at_k", "precision_at_k", "recall_at_k"]
