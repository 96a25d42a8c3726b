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


# -- beyond accuracy -----------------------------------------------------------------------------------
def test_novelty_is_mean_self_information():
    from kit.eval import novelty

    interactions = {"a": 50, "b": 25, "c": 1}  # of 100 users
    assert novelty([["a"]], interactions, 100) == pytest.approx(1.0)  # -log2(0.5)
    assert novelty([["a", "b"], ["c"]], interactions, 100) == pytest.approx((1 + 2 + math.log2(100)) / 3)
    assert novelty([["never-seen"]], interactions, 100) == pytest.approx(math.log2(100))  # counted as seen once
    with pytest.raises(ValueError):
        novelty([["a"]], interactions, 0)


def test_popularity_gini_from_equal_to_concentrated():
    from kit.eval import popularity_gini

    catalog = ["a", "b", "c", "d"]
    assert popularity_gini([["a", "b"], ["c", "d"]], catalog) == pytest.approx(0.0)  # every item once
    assert popularity_gini([["a"], ["a"], ["a"]], catalog) == pytest.approx(0.75)  # (n - 1) / n: one item takes all
    assert 0 < popularity_gini([["a", "b"], ["a"]], catalog) < 0.75
    assert popularity_gini([], catalog) == 0.0


def test_long_tail_items_and_share():
    from kit.eval import long_tail_items, long_tail_share

    catalog = ["a", "b", "c", "d", "e"]
    interactions = {"a": 9, "b": 5, "c": 1, "d": 0, "e": 2}
    tail = long_tail_items(interactions, catalog, head_fraction=0.4)  # head: the 2 most popular, a and b
    assert tail == {"c", "d", "e"}
    assert long_tail_share([["a", "c"], ["d", "b"]], tail) == pytest.approx(0.5)
    assert long_tail_share([], tail) == 0.0
    with pytest.raises(ValueError):
        long_tail_items(interactions, catalog, head_fraction=1.0)


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_more_data():
    from kit.eval import bootstrap_interval

    rng = np.random.default_rng(0)
    small, large = rng.random(20) < 0.3, rng.random(2000) < 0.3
    low, high = bootstrap_interval(small)
    assert low <= small.mean() <= high
    low_l, high_l = bootstrap_interval(large)
    assert low_l <= 0.3 <= high_l and high_l - low_l < (high - low) / 4
    assert bootstrap_interval([1, 1, 1]) == (1.0, 1.0)
    with pytest.raises(ValueError):
        bootstrap_interval([])


def test_kendall_tau_counts_agreeing_pairs():
    from kit.eval import kendall_tau

    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(2 / 3)  # one swapped pair of six
    assert np.isnan(kendall_tau([1, 2, 3], [5, 5, 5]))
