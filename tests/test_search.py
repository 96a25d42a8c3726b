import json
import subprocess
import sys

import numpy as np
import pytest

from kit.bundled_catalogs import grocery_photos
from kit.errors import BadInput
from kit.search.fusion import reciprocal_rank_fusion
from kit.search.index import ExactIndex, HNSWIndex, build_index


def test_text_search_finds_the_product(grocery_search, grocery):
    hits = [item.id in [r.id for r in grocery_search.text(item.title, k=5)] for item in grocery.items[::3]]
    assert np.mean(hits) >= 0.85
    results = grocery_search.text("green apple", k=5)
    assert all(a.score >= b.score for a, b in zip(results, results[1:])) and len(results) == 5


def test_bm25_matches_words(grocery_search):
    assert grocery_search.bm25("oatghurt", k=3)[0].id.startswith("Oatly")


def test_hybrid_fuses_and_filters(grocery_search):
    results = grocery_search.hybrid("apple juice", k=5)
    assert any("Apple-Juice" in r.id for r in results)
    juices = grocery_search.hybrid("apple", k=5, category="Juice")
    assert juices and all(r.item.category == "Juice" for r in juices)


def test_image_search_finds_the_photographed_product(grocery_search):
    photos = grocery_photos("test")[::250]
    hits = [p.item_id in [r.id for r in grocery_search.image(p.path, k=5)] for p in photos]
    assert np.mean(hits) >= 0.7


def test_bad_queries_are_refused(grocery_search, tmp_path):
    with pytest.raises(BadInput):
        grocery_search.text("   ")
    bad = tmp_path / "x.jpg"
    bad.write_text("no")
    with pytest.raises(BadInput):
        grocery_search.image(bad)


def test_price_filter_leaves_out_unpriced_items(grocery_search):
    assert grocery_search.text("apple", k=5, max_price=10) == []  # the grocery data has no prices


def test_search_saves_and_loads_with_its_embeddings(grocery_search, grocery, tmp_path):
    from kit.catalog import Catalog
    from kit.search import CatalogSearch

    grocery_search.save(tmp_path / "index")
    loaded = CatalogSearch.load(tmp_path / "index", grocery, grocery_search.encoder)
    assert [r.id for r in loaded.text("green apple", k=5)] == [r.id for r in grocery_search.text("green apple", k=5)]
    with pytest.raises(BadInput, match="do not belong"):
        CatalogSearch.load(tmp_path / "index", Catalog(grocery.items[:10], name="small"), grocery_search.encoder)


def test_rrf_by_hand():
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=60)
    assert [i for i, _ in fused] == ["b", "a", "c"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


def test_exact_and_hnsw_agree_and_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(2000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[:20] + 0.01
    exact, hnsw = ExactIndex(vectors), HNSWIndex(vectors)
    assert (exact.search(queries, 1)[1][:, 0] == np.arange(20)).all()
    assert (hnsw.search(queries, 1)[1][:, 0] == np.arange(20)).all()
    allowed = np.zeros(2000, bool)
    allowed[1000:] = True
    assert (exact.search(queries, 5, allowed)[1] >= 1000).all() and (hnsw.search(queries, 5, allowed)[1] >= 1000).all()
    exact.save(tmp_path / "e.npy")
    hnsw.save(tmp_path / "h.faiss")
    assert (ExactIndex.load(tmp_path / "e.npy").search(queries, 3)[1] == exact.search(queries, 3)[1]).all()
    assert (HNSWIndex.load(tmp_path / "h.faiss").search(queries, 3)[1] == hnsw.search(queries, 3)[1]).all()
    assert build_index(vectors).kind == "exact" and build_index(vectors, "hnsw").kind == "hnsw"


def run_kit(*args):
    return subprocess.run([sys.executable, "-m", "kit", *args], capture_output=True, text=True, timeout=600)


def test_cli_search_prints_json_best_first(lit_encoder):
    result = run_kit("search", "green apple", "--catalog", "grocery_store", "--k", "5", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 5 and set(rows[0]) == {"id", "title", "score"}
    assert "Granny-Smith" in [r["id"] for r in rows]
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)


def test_cli_search_by_image(lit_encoder):
    photo = grocery_photos("test")[0]
    result = run_kit("search", "--image", str(photo.path), "--catalog", "grocery_store", "--k", "5", "--json")
    assert result.returncode == 0, result.stderr
    assert photo.item_id in [r["id"] for r in json.loads(result.stdout)]


def test_cli_errors_are_clear(lit_encoder):
    empty = run_kit("search", "", "--catalog", "grocery_store", "--json")
    assert empty.returncode == 2 and "give a query with words" in empty.stderr
    unknown = run_kit("search", "milk", "--catalog", "ikea")
    assert unknown.returncode == 2 and "unknown catalog 'ikea'" in unknown.stderr and "grocery_store" in unknown.stderr


def test_cli_eval_image_retrieval(lit_encoder):
    result = run_kit("eval", "image-retrieval", "--catalog", "grocery_store", "--split", "test", "--limit", "60", "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["n"] == 60 and 0.4 < metrics["top1"] <= metrics["top5"] <= 1.0
