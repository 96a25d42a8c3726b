import json
from pathlib import Path

import numpy as np
import pytest

from kit.bundled_catalogs import grocery_photos
from kit.errors import BadInput
from kit.search.fusion import reciprocal_rank_fusion


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


def test_every_result_says_why_from_the_evidence_the_search_used(grocery_search, fashion_search):
    results = grocery_search.hybrid("apple juice", k=5)
    for r in results:  # the words it names are in the item's text, and the ranks are the fused lists' ranks
        assert r.why and ("by keywords" in r.why or "by meaning" in r.why)
        for word in ("apple", "juice"):
            assert (f"'{word}'" in r.why) == (word in r.item.text.lower()) or "by keywords" not in r.why
    top_keyword = grocery_search.bm25("apple juice", k=1)[0]
    assert next(r for r in results if r.id == top_keyword.id).why.startswith("1st by keywords")
    assert top_keyword.why == "its text has 'apple', 'juice'"
    filtered = fashion_search.hybrid("black watches for women", k=3)
    assert all("kept by your filter" in r.why and "Black" in r.why for r in filtered)
    assert grocery_search.text("green apple", k=1)[0].why.startswith("text-image similarity")
    assert "why" in results[0].to_dict()


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


def test_weighted_rrf_drops_a_list_at_zero_and_lets_a_heavy_list_lead():
    dense, keyword = ["a", "b", "c"], ["c", "b"]
    assert [i for i, _ in reciprocal_rank_fusion([dense, keyword], weights=[1, 0])] == dense
    assert [i for i, _ in reciprocal_rank_fusion([dense, keyword], weights=[1, 4])][:2] == ["c", "b"]
    assert reciprocal_rank_fusion([dense, keyword], weights=[1, 1]) == reciprocal_rank_fusion([dense, keyword])
    with pytest.raises(ValueError, match="2 rankings but 1 weights"):
        reciprocal_rank_fusion([dense, keyword], weights=[1])


def test_keyword_weight_follows_how_much_of_the_query_is_label_words(fashion_search):
    assert fashion_search.keyword_share("navy blue shirts for men") == pytest.approx(fashion_search.keyword_weight)
    for paraphrase in ("something to keep my neck warm", "comfortable bottoms for the gym", "a strap around my waist"):
        assert fashion_search.keyword_share(paraphrase) <= 1.0, paraphrase  # at most plain RRF
    assert fashion_search.filters_in("navy blue shirts for men").rest == "shirts"


NEEDS = Path(__file__).parent / "data" / "paraphrase_needs.jsonl"


@pytest.mark.parametrize("catalog_fixture", ["grocery", "fashion"])
def test_paraphrase_needs_avoid_the_label_words_of_their_answers(catalog_fixture, request):
    from kit.search.evaluate import load_needs
    from kit.search.vocabulary import words

    catalog = request.getfixturevalue(catalog_fixture)
    needs = load_needs(catalog, NEEDS)  # raises when a need has no answer in the catalog
    assert len(needs) >= 60 and len({n.text for n in needs}) == len(needs)
    for need in needs:
        labels = {w for item_id in need.relevant for w in words(catalog[item_id].category)}
        assert not set(words(need.text)) & labels, (need.text, set(words(need.text)) & labels)


def in_catalog(queries: list, catalog) -> list:
    """Attribute queries whose answers are cut to the items of ``catalog`` (a slice); those left without one go."""
    from kit.search.evaluate import AttributeQuery

    kept = [AttributeQuery(q.text, frozenset(i for i in q.relevant if i in catalog)) for q in queries]
    return [q for q in kept if q.relevant]


def test_hybrid_is_never_worse_than_its_better_part_on_the_public_sets(grocery_search, fashion_search):
    from kit.search.evaluate import attribute_queries, load_needs, needs_search_quality

    sets = {"grocery needs": (grocery_search, load_needs(grocery_search.catalog, NEEDS)),
            "fashion needs": (fashion_search, load_needs(fashion_search.catalog, NEEDS)),
            "fashion shopper queries": (fashion_search, in_catalog(attribute_queries(limit=100), fashion_search.catalog))}
    for name, (search, queries) in sets.items():
        quality = needs_search_quality(search, queries)
        for measure in ("precision@5", "recall@5"):
            better = max(quality["dense"][measure], quality["bm25"][measure])
            assert quality["hybrid"][measure] >= better - 0.02, (name, measure, quality)


def test_cli_search_prints_json_best_first(lit_encoder, kit_cli):
    result = kit_cli("search", "green apple", "--catalog", "grocery_store", "--k", "5", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 5 and set(rows[0]) == {"id", "title", "score", "why"} and all(r["why"] for r in rows)
    assert "Granny-Smith" in [r["id"] for r in rows]
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)


def test_cli_search_by_image(lit_encoder, kit_cli):
    photo = grocery_photos("test")[0]
    result = kit_cli("search", "--image", str(photo.path), "--catalog", "grocery_store", "--k", "5", "--json")
    assert result.returncode == 0, result.stderr
    assert photo.item_id in [r["id"] for r in json.loads(result.stdout)]


def test_cli_errors_are_clear(lit_encoder, kit_cli):
    empty = kit_cli("search", "", "--catalog", "grocery_store", "--json")
    assert empty.returncode == 2 and "give a query with words" in empty.stderr
    unknown = kit_cli("search", "milk", "--catalog", "ikea")
    assert unknown.returncode == 2 and "unknown catalog 'ikea'" in unknown.stderr and "grocery_store" in unknown.stderr


def test_cli_eval_image_retrieval(lit_encoder, kit_cli):
    result = kit_cli("eval", "image-retrieval", "--catalog", "grocery_store", "--split", "test", "--limit", "60", "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["n"] == 60 and 0.4 < metrics["top1"] <= metrics["top5"] <= 1.0


def test_grocery_confusions_name_real_mistakes(lit_encoder, grocery):
    from kit.search import evaluate

    confusions = evaluate.grocery_confusions(lit_encoder, "test", "text", limit=300, top=5)
    accuracy = evaluate.grocery_image_retrieval(lit_encoder, "test", "text", limit=300)["top1"]
    assert 0 < len(confusions) <= 5 and all(true != guess and true in grocery and guess in grocery for true, guess, _ in confusions)
    counts = [n for _, _, n in confusions]
    assert counts == sorted(counts, reverse=True) and sum(counts) <= round((1 - accuracy) * 300)


def test_cli_eval_fashion_reports_title_to_photo_and_zero_shot_attributes(fashion_search, kit_cli):
    result = kit_cli("eval", "image-retrieval", "--catalog", "fashion_products", "--limit", "80", "--max-items",
                     str(len(fashion_search.catalog)), "--json")  # the photos fashion_search embedded
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["n"] == 80 and 0 <= metrics["recall@1"] <= metrics["recall@10"] <= 1
    assert set(metrics["zero_shot"]) == {"articleType", "baseColour", "gender"} == set(metrics["zero_shot_majority"])
    # the baseline beside it: always the commonest train label, counted here from the labels themselves
    from collections import Counter

    from kit.bundled_catalogs import open_catalog
    from kit.bundled_catalogs import item_split

    train, held_out = item_split(open_catalog("fashion_products"), holdout=0.2, seed=0)
    held_out = [item for item in held_out if item.id in fashion_search.catalog]  # the slice's share of the split
    train = [item for item in train if item.id in fashion_search.catalog]
    for attribute in ("baseColour", "gender"):
        commonest = Counter(item.attributes.get(attribute, "") for item in train).most_common(1)[0][0]
        share = np.mean([item.attributes.get(attribute, "") == commonest for item in held_out[:80]])
        assert metrics["zero_shot_majority"][attribute] == pytest.approx(share)


def test_filters_come_from_the_query_and_from_the_catalog(fashion_search, grocery_search):
    said = fashion_search.filters_in("black running shoes for men under 60")
    assert said.attributes == {"gender": frozenset({"Men", "Unisex"}), "baseColour": frozenset({"Black"})}
    assert said.max_price is None  # the fashion catalog has no prices, so "under 60" cannot filter
    assert fashion_search.filters_in("navy blue shirts for women").attributes["baseColour"] == {"Navy Blue"}
    assert fashion_search.filters_in("a present for my daughter").attributes["gender"] == {"Girls", "Unisex"}
    assert not grocery_search.filters_in("green apples for men")  # grocery items have no gender or colour labels
    results = fashion_search.hybrid("black watches for women", k=10)
    assert results and all(r.item.attributes["gender"] in ("Women", "Unisex") and r.item.attributes["baseColour"] == "Black"
                           for r in results)


def hidden_colours(fashion, lit_encoder):
    """400 fashion items, a quarter without their colour label; the search fills those from the photo (zero-shot).
    Returns the search, (zero-shot label, true label) of the hidden ones, and the commonest known colour."""
    from dataclasses import replace

    from kit.catalog import Catalog
    from kit.search import CatalogSearch

    items = fashion.items[:400]
    hidden = {item.id for item in items[::4]}
    unlabelled = [replace(i, attributes={k: v for k, v in i.attributes.items() if k != "baseColour"}) if i.id in hidden else i
                  for i in items]
    search = CatalogSearch.build(Catalog(unlabelled, name="fashion-400"), lit_encoder)
    truth = {i.id: i.attributes["baseColour"] for i in items}
    guessed = [(label, truth[item_id]) for item_id, label in zip(search.catalog.ids, search.labels("baseColour"))
               if item_id in hidden]
    labelled = [truth[item.id] for item in items if item.id not in hidden]
    return search, guessed, max(set(labelled), key=labelled.count)


def test_items_without_a_label_are_filtered_by_their_zero_shot_label(fashion, lit_encoder):
    search, guessed, _ = hidden_colours(fashion, lit_encoder)
    assert len(guessed) == 100 and all(label for label, _ in guessed)
    labels = search.labels("baseColour")
    kept = search.hybrid("black shirts", k=20)
    assert all(labels[search.catalog.ids.index(r.id)] == "Black" for r in kept)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="zero-shot colour (0.13 on these 100 items with the test model) is below always "
                   "saying the commonest colour (0.26); supervised attribute heads are issue #34")
def test_zero_shot_colour_of_unlabelled_items_beats_the_commonest_colour(fashion, lit_encoder):
    _, guessed, commonest = hidden_colours(fashion, lit_encoder)  # Black: the strongest trivial guess
    assert np.mean([label == true for label, true in guessed]) > np.mean([true == commonest for _, true in guessed])


def test_a_need_in_a_shoppers_words_reaches_the_product_through_the_sentence_model(grocery_search):
    need = "the yellow fruit monkeys love"
    assert grocery_search.sentences(need, k=5)[0].id == "Banana"
    assert "Banana" not in [r.id for r in grocery_search.text(need, k=10) + grocery_search.bm25(need, k=10)]
    banana = next(r for r in grocery_search.hybrid(need, k=10) if r.id == "Banana")  # the sentence model lifts it
    assert banana.why.endswith("; 1st by meaning of its text (the sentence model)")
