"""The MMR re-ranker: relevance alone keeps the recommender's order; each other weight moves the list the
way it says (diversity across clusters, novelty to the tail, price to cheaper items); bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest

from kit.errors import BadInput
from kit.eval import intra_list_diversity, long_tail_items, long_tail_share
from kit.rerank import MMRReranker


@pytest.fixture()
def candidates():
    """12 candidates in 3 tight clusters; the recommender scores cluster 0 highest, then 1, then 2."""
    rng = np.random.default_rng(0)
    centres = np.eye(3, 8)
    vectors = np.vstack([centres[i // 4] + 0.05 * rng.normal(size=8) for i in range(12)])
    items = [f"i{i}" for i in range(12)]
    scores = np.linspace(1.0, 0.5, 12)
    interactions = {item: 100 - 8 * i for i, item in enumerate(items)}  # the best-scored are the most popular
    return items, scores, vectors, interactions


def test_relevance_alone_keeps_the_recommenders_order(candidates):
    items, scores, vectors, _ = candidates
    assert MMRReranker().rerank(items, scores, vectors, k=5) == items[:5]


def test_diversity_spreads_the_list_over_clusters(candidates):
    items, scores, vectors, _ = candidates
    plain = MMRReranker().rerank(items, scores, vectors, k=3)
    spread = MMRReranker(relevance=1.0, diversity=1.0).rerank(items, scores, vectors, k=3)
    cluster = {item: i // 4 for i, item in enumerate(items)}
    assert {cluster[i] for i in plain} == {0} and {cluster[i] for i in spread} == {0, 1, 2}
    assert spread[0] == items[0]  # the most relevant still leads
    position = {item: i for i, item in enumerate(items)}
    diversity = lambda ranked: intra_list_diversity(vectors[[position[i] for i in ranked]])  # noqa: E731
    assert diversity(spread) > diversity(plain)


def test_novelty_moves_the_list_to_the_long_tail(candidates):
    items, scores, vectors, interactions = candidates
    tail = long_tail_items(interactions, items, head_fraction=0.5)
    plain = MMRReranker().rerank(items, scores, vectors, k=4)
    novel = MMRReranker(relevance=1.0, novelty=2.0).rerank(items, scores, vectors, k=4, interactions=interactions,
                                                          users=200)
    assert long_tail_share([novel], tail) > long_tail_share([plain], tail)


def test_price_prefers_cheaper_items_and_unknown_prices_count_as_the_median(candidates):
    items, scores, vectors, _ = candidates
    prices = [100.0] * 6 + [1.0] * 5 + [None]
    cheap = MMRReranker(relevance=0.1, price=1.0).rerank(items, scores, vectors, k=5, prices=prices)
    assert set(cheap) == set(items[6:11])


def test_bad_input_is_refused(candidates):
    items, scores, vectors, _ = candidates
    with pytest.raises(BadInput):
        MMRReranker(relevance=-1.0)
    with pytest.raises(BadInput):
        MMRReranker(relevance=0.0)
    with pytest.raises(BadInput, match="one of each"):
        MMRReranker().rerank(items, scores[:3], vectors, k=3)
    with pytest.raises(BadInput, match="novelty needs"):
        MMRReranker(novelty=1.0).rerank(items, scores, vectors, k=3)
    with pytest.raises(BadInput, match="price needs"):
        MMRReranker(price=1.0).rerank(items, scores, vectors, k=3)
    with pytest.raises(BadInput):
        MMRReranker().rerank(items, scores, vectors, k=0)


def test_tradeoff_measures_each_setting_on_held_out_purchases():
    from kit.rerank.tradeoff import tradeoff
    from kit.sequences import NextItemExample

    rng = np.random.default_rng(1)
    centres = rng.normal(size=(4, 16))
    vectors = np.vstack([centres[i % 4] + 0.3 * rng.normal(size=16) for i in range(80)])  # item i in cluster i % 4
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    examples = [NextItemExample(u, (u % 80, (u + 4) % 80), (u + 8) % 80) for u in range(60)]  # same cluster
    interactions = {i: 80 - i for i in range(80)}
    score = lambda histories: np.stack([unit[list(h)].mean(0) @ unit.T for h in histories])  # noqa: E731
    settings = [MMRReranker(), MMRReranker(diversity=2.0), MMRReranker(novelty=2.0)]
    rows = tradeoff(examples, score, vectors, interactions, users=100, settings=settings, k=5, candidates=30)
    base = np.mean([e.target in list(np.argsort(-score([e.history])[0], kind="stable")[:5]) for e in examples])
    assert rows[0]["recall@5"] == pytest.approx(base)  # relevance alone: the recommender's own top 5
    assert rows[1]["diversity"] > rows[0]["diversity"] and rows[2]["long_tail"] > rows[0]["long_tail"]
    assert rows[2]["novelty"] > rows[0]["novelty"]
    assert all(0 <= r["coverage"] <= 1 and 0 <= r["gini"] <= 1 for r in rows)
