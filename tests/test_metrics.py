"""Metrics against values computed by hand."""

import math

import numpy as np
import pytest

from kit.eval import catalog_coverage, hit_rate_at_k, intra_list_diversity, mrr, ndcg_at_k, precision_at_k, recall_at_k

RANKED = ["a", "b", "c", "d", "e"]
RELEVANT = {"b", "e", "z"}


def test_recall_precision_hit():
    assert recall_at_k(RANKED, RELEVANT, 2) == pytest.approx(1 / 3)
    assert recall_at_k(RANKED, RELEVANT, 5) == pytest.approx(2 / 3)
    assert precision_at_k(RANKED, RELEVANT, 5) == pytest.approx(2 / 5)
    assert hit_rate_at_k(RANKED, RELEVANT, 1) == 0.0 and hit_rate_at_k(RANKED, RELEVANT, 2) == 1.0


def test_ndcg_by_hand():
    # hits at ranks 2 and 5: DCG = 1/log2(3) + 1/log2(6); ideal for 3 relevant in top 5: 1 + 1/log2(3) + 1/2
    expected = (1 / math.log2(3) + 1 / math.log2(6)) / (1 + 1 / math.log2(3) + 0.5)
    assert ndcg_at_k(RANKED, RELEVANT, 5) == pytest.approx(expected)
    assert ndcg_at_k(["x"], {"x"}, 10) == 1.0
    assert ndcg_at_k(["y", "x"], {"x"}, 1) == 0.0


def test_mrr():
    assert mrr(RANKED, RELEVANT) == 0.5
    assert mrr(RANKED, {"q"}) == 0.0


def test_coverage_and_diversity():
    assert catalog_coverage([["a", "b"], ["b", "c"]], 10) == pytest.approx(0.3)
    same = np.array([[1.0, 0.0], [2.0, 0.0]])
    orthogonal = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert intra_list_diversity(same) == pytest.approx(0.0)
    assert intra_list_diversity(orthogonal) == pytest.approx(1.0)
    assert intra_list_diversity(np.array([[1.0, 0.0]])) == 0.0


def test_bad_arguments():
    with pytest.raises(ValueError):
        recall_at_k(RANKED, set(), 5)
    with pytest.raises(ValueError):
        precision_at_k(RANKED, RELEVANT, 0)
