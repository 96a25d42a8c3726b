"""Catalog enrichment (issue #34): heads learn what is planted, the operating point holds, enrich never overwrites."""

import math

import numpy as np
import pytest
from PIL import Image

from kit.catalog import Catalog, Item, load_catalog
from kit.enrich import enrich, evaluate_head, item_features, load_heads, save_enriched, save_heads, train_heads
from kit.enrich.heads import labels_of, operating_point, train_head
from kit.errors import BadInput

# one unit for the test workers: the tests share this module's set-up (see conftest)
pytestmark = pytest.mark.xdist_group("enrich")

COLOURS = {"Red": (200, 30, 30), "Green": (30, 160, 40), "Blue": (30, 50, 200)}


def toy_items(folder, n: int, seed: int, start: int = 0) -> list[Item]:
    """Products whose photo is a noisy square of their colour: the planted signal a photo head must find."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for i in range(start, start + n):
        colour = list(COLOURS)[i % 3]
        pixels = np.clip(np.array(COLOURS[colour]) + rng.normal(0, 40, (64, 64, 3)), 0, 255).astype(np.uint8)
        path = folder / f"p{i}.png"
        Image.fromarray(pixels).save(path)
        items.append(Item(id=f"p{i}", title=f"product {i}", category="thing",
                          attributes={"colour": colour, "size": ["S", "M"][rng.integers(2)]}, image=path))
    return items


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    # 90 validation items: a 95% precision target needs about 75 right answers before its lower bound reaches it
    return toy_items(folder, 60, 0), toy_items(folder, 90, 1, 60), toy_items(folder, 30, 2, 150)


def test_photo_heads_learn_a_planted_colour_and_not_a_random_label(toy):
    train, val, test = toy
    heads = train_heads(train, ["colour", "size"], "photo", val)
    colour = evaluate_head(heads["colour"], item_features(test, "photo"), labels_of(test, "colour"))
    size = evaluate_head(heads["size"], item_features(test, "photo"), labels_of(test, "size"))
    assert colour.accuracy >= 0.9 and colour.accuracy > colour.majority_accuracy + 0.5
    assert size.accuracy < 0.8  # sizes were drawn at random: nothing in a photo tells them
    assert heads["colour"].val_coverage > 0 and heads["colour"].seconds > 0


def ambiguous_titles(n: int, seed: int) -> list[Item]:
    """Half the titles name the colour, half say nothing about it (their label is a coin flip)."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        colour = ["Red", "Blue"][rng.integers(2)]
        title = f"{colour.lower()} cotton scarf" if i % 2 == 0 else ["plain item", "a product", "nice thing"][i % 3]
        items.append(Item(id=f"t{seed}-{i}", title=title, category="scarf", attributes={"colour": colour}))
    return items


def test_the_operating_point_holds_its_precision_on_held_out_items():
    train, val, test = ambiguous_titles(200, 0), ambiguous_titles(300, 1), ambiguous_titles(300, 2)
    head = train_heads(train, ["colour"], "title", val, target_precision=0.9)["colour"]
    quality = evaluate_head(head, item_features(test, "title"), labels_of(test, "colour"))
    assert quality.accuracy < 0.85  # half the titles cannot be told: all labels together are not trustworthy
    assert quality.precision >= 0.9 and 0.3 <= quality.coverage <= 0.7  # the trusted half is, on unseen items


def test_operating_point_is_the_most_coverage_whose_lower_bound_reaches_the_target():
    confidence = np.linspace(1, 0, 400)
    correct = np.r_[np.ones(200, bool), np.zeros(200, bool)]  # right above 0.5, wrong below
    threshold, precision, coverage = operating_point(confidence, correct, 0.95)
    # all 200 right ones, then as many wrong ones as the 95% lower bound of precision still allows (a few)
    assert 0.45 < threshold < 0.5 and 0.95 <= precision < 1 and 0.5 < coverage < 0.55
    assert operating_point(confidence, np.zeros(400, bool), 0.95)[0] == math.inf
    tied = operating_point(np.r_[np.ones(300), np.zeros(100)], np.r_[np.ones(290, bool), np.zeros(110, bool)], 0.9)
    assert tied[0] == math.inf or tied[2] in (0.75, 1.0)  # a tie is kept whole or not at all


def test_enrich_fills_only_what_is_missing_never_overwrites_and_round_trips(toy, tmp_path):
    train, val, test = toy
    heads = train_heads(train, ["colour"], "photo", val)
    wrong = Item(id="w", title="w", category="thing", attributes={"colour": "Purple"}, image=test[0].image)
    blank = [Item(id=i.id, title=i.title, category=i.category, attributes={}, image=i.image) for i in test[1:]]
    no_photo = Item(id="np", title="no photo", category="thing")
    catalog = Catalog([wrong, *blank, no_photo], name="toy")
    result = enrich(catalog, heads)
    report = result.report["colour"]
    assert report.missing == len(blank) + 1 and report.unreadable == 1
    assert report.filled + report.not_confident + report.unreadable == report.missing and report.filled > 20
    assert result.catalog["w"].attributes["colour"] == "Purple"  # a label the shop gave is never overwritten
    assert catalog[blank[0].id].attributes == {}  # the input catalog is untouched
    truth = {i.id: i.attributes["colour"] for i in test}
    assert all(f.value == truth[f.item_id] for f in result.fills)
    assert "colour: " in result.summary()
    path = save_enriched(result, tmp_path / "enriched.csv")
    again = load_catalog(path, allow_outside_images=True)
    assert [i.attributes.get("colour") for i in again] == [i.attributes.get("colour") for i in result.catalog]
    assert all(a.image == b.image for a, b in zip(again, result.catalog))
    assert (tmp_path / "enriched.fills.csv").read_text().count("\n") == len(result.fills) + 1
    save_heads(heads, tmp_path / "heads.joblib")
    assert load_heads(tmp_path / "heads.joblib")["colour"].threshold == heads["colour"].threshold


def test_columns_that_are_not_categories_are_clear_errors(toy, tmp_path):
    item = lambda i, value: Item(id=str(i), title="x", category="c", attributes={"a": value})  # noqa: E731
    with pytest.raises(BadInput, match="one value"):
        labels_of([item(i, "Red") for i in range(30)], "a")
    with pytest.raises(BadInput, match="fractional numbers"):
        labels_of([item(i, 1.5 + i) for i in range(30)], "a")
    with pytest.raises(BadInput, match="not categorical"):
        labels_of([item(i, f"sku-{i}") for i in range(30)], "a")
    with pytest.raises(BadInput, match="no item has a value"):
        labels_of([item(i, "Red") for i in range(3)], "colour")
    with pytest.raises(BadInput, match="too few labels"):
        features = np.eye(6, dtype=np.float32)
        train_head(features, ["Red"] * 5 + ["Blue"], features, ["Red"] * 6, "a", "title")
    with pytest.raises(BadInput, match="unknown view"):
        item_features(toy[0], "sound")
    with pytest.raises(BadInput, match="no photo"):
        item_features([Item(id="x", title="x", category="c")], "photo")
    (tmp_path / "bad.joblib").write_text("not a model")
    with pytest.raises(BadInput, match="cannot read attribute heads"):
        load_heads(tmp_path / "bad.joblib")


def test_the_cli_trains_heads_on_a_catalog_file_and_fills_its_gaps(toy, tmp_path, capsys):
    import json

    from kit.cli import main

    train, val, test = toy
    rows = ["id,title,category,image,colour,sku"]
    for item in [*train, *val, *test]:
        hidden = item in test[:10]  # ten products the shop never labelled
        rows.append(f"{item.id},{item.title},thing,{item.image},{'' if hidden else item.attributes['colour']},sku-{item.id}")
    path = tmp_path / "shop.csv"
    path.write_text("\n".join(rows) + "\n")
    args = ["--catalog", str(path), "--images-dir", "/", "--view", "photo"]  # 22 calibration items: 0.8 is reachable
    assert main(["enrich", "train", *args, "--attributes", "colour", "--precision", "0.8", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["attributes"]["colour"]["accuracy"] > report["attributes"]["colour"]["majority"]
    assert main(["enrich", "fill", *args, "--out", str(tmp_path / "filled.csv")]) == 0
    assert "colour: " in capsys.readouterr().out and (tmp_path / "filled.fills.csv").is_file()
    filled = load_catalog(tmp_path / "filled.csv", allow_outside_images=True)
    truth = {item.id: item.attributes["colour"] for item in test}
    assert all(filled[i.id].attributes.get("colour") in (None, truth[i.id]) for i in test[:10])
    assert sum("colour" in filled[i.id].attributes for i in test[:10]) >= 5
    assert main(["enrich", "train", *args, "--attributes", "colour", "--precision", "0.8", "--json",
                 "--tune-photo-tower", "--tower-epochs", "1"]) == 0
    tower = json.loads(capsys.readouterr().out)["photo_tower"]
    assert tower and report.get("photo_tower") == ""  # the second heads read with a tower of their own
    assert main(["enrich", "fill", *args, "--out", str(tmp_path / "tuned.csv")]) == 0  # which fill finds by its id
    assert "colour: " in capsys.readouterr().out
    assert main(["enrich", "train", *args[:-1], "photo+title", "--tune-photo-tower"]) == 2
    assert "photo view only" in capsys.readouterr().err
    assert main(["enrich", "train", *args, "--attributes", "sku"]) == 2  # an id-like column: a clear error
    assert "not categorical" in capsys.readouterr().err
    assert main(["enrich", "fill", "--catalog", str(path), "--view", "title", "--out", str(tmp_path / "x.csv")]) == 2
    assert "python -m kit enrich train" in capsys.readouterr().err


def test_search_filters_keep_an_unlabelled_item_only_when_its_head_is_confident(toy, lit_encoder):
    from kit.enrich.recipe import heads_path
    from kit.search import CatalogSearch

    train, val, test = toy
    heads = train_heads(train, ["colour"], "photo", val)
    name = "toy-enrich-filters"  # heads are found by catalog name, as `python -m kit enrich train` saves them
    catalog = Catalog([*train[:30], *[Item(id=i.id, title=i.title, category=i.category, image=i.image) for i in test]],
                      name=name)
    search = CatalogSearch.build(catalog, lit_encoder)
    zero_shot = search.labels("colour").copy()
    assert all(zero_shot)  # without a head every unlabelled item gets its zero-shot guess, right or wrong
    save_heads(heads, heads_path(name, "photo"))
    try:
        labels = CatalogSearch(catalog, lit_encoder, search.embeddings).labels("colour")
    finally:
        heads_path(name, "photo").unlink()
    unlabelled = {i.id: i.attributes["colour"] for i in test}
    read = {item.id: label for item, label in zip(catalog, labels) if item.id in unlabelled}
    assert all(label in ("", unlabelled[i]) for i, label in read.items())  # confident and right, or left out
    assert sum(bool(label) for label in read.values()) >= len(read) // 2
    assert list(labels[:30]) == [i.attributes["colour"] for i in train[:30]]  # a shop's own label is never replaced


def test_a_trusted_head_fills_the_copys_photo_facts_and_an_untrusting_one_fills_nothing(toy, lit_encoder):
    from dataclasses import replace

    from kit.generate import TemplateWriter, write_copy
    from kit.generate.checker import FactChecker
    from kit.generate.facts import ItemFacts
    from kit.generate.photo_facts import PhotoFacts, fill_precision

    train, val, test = toy
    head = train_heads(train, ["colour"], "photo", val)["colour"]
    assert math.isfinite(head.threshold)  # the planted colour is learnable: the head trusts some of its labels
    photo = PhotoFacts(lit_encoder, {}, threshold=math.inf, heads={"colour": head})  # heads only, no zero-shot
    bare = [Item(id=i.id, title="Mystery Item", image=i.image) for i in test]  # the rows without their colour
    filled = [photo.fill(ItemFacts.from_item(b), b) for b in bare]
    said = [(f.labels.get("colour"), item.attributes["colour"]) for f, item in zip(filled, test) if f.from_photo]
    assert len(said) >= len(test) // 2 and sum(a == b for a, b in said) >= 0.9 * len(said)
    assert all(f.from_photo in ((), ("colour",)) for f in filled)
    towers = photo.towers
    assert towers is not None and photo.fill(ItemFacts.from_item(bare[1]), bare[1]) and photo.towers is towers  # loaded once
    labelled = [replace(i, attributes={"baseColour": i.attributes["colour"]}) for i in test]  # the copy's label name
    given = photo.fill(ItemFacts.from_item(labelled[0]), labelled[0])  # a label the row has is never replaced
    assert given.from_photo == () and given.labels == {"colour": test[0].attributes["colour"]}
    untrusting = PhotoFacts(lit_encoder, {}, threshold=math.inf, heads={"colour": replace(head, threshold=math.inf)})
    assert all(untrusting.fill(ItemFacts.from_item(b), b).from_photo == () for b in bare)

    rows = fill_precision(photo, labelled, np.zeros((len(test), 8), np.float32))
    assert [(r["fact"], r["reader"]) for r in rows] == [("colour", "trained head")]
    assert rows[0]["coverage"] == len(said) / len(test) and rows[0]["precision"] >= 0.9
    catalog = Catalog(labelled, name="toy")
    copy = write_copy([bare[0]], TemplateWriter(), FactChecker.for_catalog(catalog), photo=photo).texts[0]
    assert copy.from_photo == list(filled[0].from_photo)


def test_a_photo_tower_tuned_on_the_labels_learns_them_and_its_heads_read_only_with_it(toy, tmp_path, monkeypatch):
    import torch

    from kit.enrich.features import load_towers
    from kit.enrich.tower import TowerConfig, load_tower, save_tower, tower_file, tune_photo_tower

    train, val, test = toy
    towers = load_towers()
    before = {k: v.clone() for k, v in towers.model.visual.trunk.state_dict().items()}
    tower = tune_photo_tower(train, val, ["colour", "size"], TowerConfig(unfrozen_stages=1, epochs=10, views=1, batch_size=8), towers)
    # the tower's own linear layers learn the planted colour (val accuracy is the mean over colour and size,
    # and size is a coin flip: about (1 + 0.5) / 2 when colour is read right)
    assert max(tower.history["val_accuracy"]) >= 0.7 and tower.classes["size"] == ["M", "S"]
    assert all(k.startswith(("blocks.6", "conv_head", "bn2")) for k in tower.state)
    changed = [k for k, v in tower.state.items() if v.is_floating_point() and not torch.equal(v, before[k])]
    assert changed and towers.model.visual.trunk.state_dict()["conv_head.weight"].equal(before["conv_head.weight"])
    path = save_tower(tower)
    assert path == tower_file(tower.digest) and load_tower(path).digest == tower.digest

    tuned = load_towers(tower.digest)
    heads = train_heads(train, ["colour"], "photo", val, towers=tuned)
    assert heads["colour"].photo_tower_id == tower.digest
    quality = evaluate_head(heads["colour"], item_features(test, "photo", tuned), labels_of(test, "colour"))
    assert quality.accuracy >= 0.9
    assert not np.allclose(item_features(test[:3], "photo", tuned), item_features(test[:3], "photo", towers))
    blank = Catalog([Item(id=i.id, title=i.title, category="thing", image=i.image) for i in test], name="toy")
    assert enrich(blank, heads).report["colour"].filled > 0  # finds its tower by the id the heads recorded
    with pytest.raises(BadInput, match="tower"):
        enrich(blank, heads, towers)  # features of another tower would be read as if they were its own
    (tmp_path / "bad.pt").write_text("not a tower")
    with pytest.raises(BadInput, match="cannot read a photo tower"):
        load_tower(tmp_path / "bad.pt")
    with pytest.raises(BadInput, match="too few labels"):
        tune_photo_tower(train, val, ["category_less"], TowerConfig(epochs=1), towers)
    path.unlink()
    with pytest.raises(BadInput, match="cannot read a photo tower"):
        load_towers(tower.digest)  # heads whose tower is gone say how to train them again
