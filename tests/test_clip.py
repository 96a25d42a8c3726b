"""Item understanding: the trained aligner, the encoder's contract, the cache, zero-shot labels."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from kit.bundled_catalogs import grocery_photos
from kit.errors import BadInput, ModelNotAvailable, UnknownModel


def test_training_metrics_are_far_above_chance(lit_encoder):
    from kit.registry import resolve

    training = json.loads((resolve("shopkit-lit").path / "training.json").read_text())
    history = training["history"]
    assert history["losses"][-1] < history["losses"][0]  # the contrastive loss went down
    assert training["metrics"]["grocery_val_top1"] > 0.5  # 81 products: chance is 0.012


def test_photos_find_their_product(lit_encoder, grocery):
    from kit.search.evaluate import grocery_image_retrieval

    result = grocery_image_retrieval(lit_encoder, "test", "text", limit=200)
    assert result["n"] == 200 and result["top5"] > 0.8 and result["top1"] > 0.5


def test_texts_are_normalized_and_meaningful(lit_encoder, grocery):
    products = lit_encoder.encode_texts([item.text for item in grocery])
    assert np.allclose(np.linalg.norm(products, axis=1), 1.0, atol=1e-4)
    names = lit_encoder.encode_texts([item.title for item in grocery])  # "Granny Smith", "Oatly Oat Milk", ...
    top5 = np.argsort(-(names @ products.T), axis=1)[:, :5]
    assert np.mean([i in row for i, row in enumerate(top5)]) >= 0.9  # a product's name finds its product


def test_a_bad_image_is_skipped_and_the_batch_goes_on(lit_encoder, tmp_path):
    good = grocery_photos("test")[0].path
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8 definitely not a jpeg")
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(bomb)
    batch = lit_encoder.encode_images([good, corrupt, bomb, good, tmp_path / "missing.jpg"])
    assert batch.indices == [0, 3] and batch.vectors.shape[0] == 2
    assert [i for i, _ in batch.skipped] == [1, 2, 4]
    assert "corrupt" in batch.skipped[0][1] and "decompression bomb" in batch.skipped[1][1] and "not found" in batch.skipped[2][1]
    np.testing.assert_allclose(batch.vectors[0], batch.vectors[1], atol=1e-5)
    with pytest.raises(BadInput):
        lit_encoder.encode_image(corrupt)


def test_empty_text_is_refused(lit_encoder):
    with pytest.raises(BadInput, match="empty"):
        lit_encoder.encode_texts(["apple", "  "])


def test_model_names_resolve_through_the_registry():
    from kit.clip.encoder import ItemEncoder

    with pytest.raises(UnknownModel):
        ItemEncoder.from_pretrained("no-such-clip")
    with pytest.raises(ModelNotAvailable, match="python -m kit fetch ViT-B-32/laion2b_s34b_b79k"):
        ItemEncoder.from_pretrained("ViT-B-32/laion2b_s34b_b79k")
    with pytest.raises(ModelNotAvailable, match="ViT-L-14/openai"):  # any open_clip pair works the same way
        ItemEncoder.from_pretrained("ViT-L-14/openai")


def test_the_saved_folder_is_a_plain_open_clip_model(lit_encoder):
    import open_clip

    from kit.registry import resolve

    folder = resolve("shopkit-lit").path
    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{folder}")
    tokenizer = open_clip.get_tokenizer(f"local-dir:{folder}")
    with torch.no_grad():
        direct = model.eval().encode_text(tokenizer(["oat milk"]), normalize=True)[0].numpy()
    np.testing.assert_allclose(direct, lit_encoder.encode_texts(["oat milk"])[0], atol=1e-5)
    assert (folder / "README.md").read_text().count("## ") >= 6  # the model card


def test_towers_are_frozen_and_hold_the_pretrained_weights(tmp_path):
    from kit.clip.lit import create_untrained
    from kit.clip.towers import efficientnet_lite0_state_dict

    model, _, _ = create_untrained(tmp_path / "m")
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith(("visual.head", "text.proj", "logit_scale")) for n in trainable)
    expected = efficientnet_lite0_state_dict()["conv_stem.weight"]
    assert torch.equal(model.visual.trunk.conv_stem.weight, expected)


def test_embedding_cache_resumes_and_embeds_only_what_is_new(tmp_path):
    from kit.clip.cache import EmbeddingCache, content_key

    calls = []

    def encode(batch):
        calls.append(len(batch))
        return np.stack([np.full(3, len(text), np.float32) for text in batch])

    texts = ["a", "bb", "ccc", "dddd"]
    keys = [content_key(t) for t in texts]
    cache = EmbeddingCache("toy", root=tmp_path)
    cache.embed(keys[:2], texts[:2], encode, batch_size=1)
    (cache.folder / "killed-midway.tmp").write_bytes(b"half a shard")  # what a kill leaves behind
    fresh = EmbeddingCache("toy", root=tmp_path)
    vectors = fresh.embed(keys, texts, encode, batch_size=10)
    assert calls == [1, 1, 2]  # the second run embedded only the two new texts
    assert vectors[:, 0].tolist() == [1, 2, 3, 4]


def test_zero_shot_labels_photos_far_above_chance(lit_encoder):
    from collections import defaultdict

    from kit.clip.zero_shot import zero_shot

    by_class = defaultdict(list)
    for photo in grocery_photos("test"):
        by_class[photo.coarse_class].append(photo)
    labels = sorted(by_class)[:12]  # Apple, Asparagus, Aubergine, Avocado, Banana, ...
    photos = [photo for label in labels for photo in by_class[label][:5]]
    vectors = lit_encoder.encode_images([p.path for p in photos]).vectors
    scores = zero_shot(lit_encoder, vectors, labels, "a photo of {}")
    assert scores.probs.shape == (60, 12) and np.allclose(scores.probs.sum(axis=1), 1.0)
    accuracy = np.mean([labels[j] == p.coarse_class for j, p in zip(scores.best(), photos)])
    assert accuracy >= 0.4  # chance is 1/12
    with pytest.raises(BadInput):
        zero_shot(lit_encoder, vectors, ["only one"])


def test_photo_embeddings_reuse_the_trunk_features_training_cached(lit_encoder, grocery, tmp_path):
    """The app's catalog embeddings and training share one content-keyed trunk cache; same vectors either way."""
    import shutil

    from kit.clip.cache import EmbeddingCache, file_key
    from kit.clip.lit import IMAGE_TRUNK_KEY

    assert lit_encoder.frozen_image_trunk == IMAGE_TRUNK_KEY
    paths = [item.image for item in grocery.items[:10]]
    direct = lit_encoder.encode_images(paths, on_error="raise").vectors  # the full model, pixels to embedding
    via_cache = lit_encoder.encode_image_files(paths)
    assert np.allclose(direct, via_cache, atol=1e-5)
    assert all(file_key(p) in EmbeddingCache(IMAGE_TRUNK_KEY) for p in paths)  # features stored for next time
    fresh = tmp_path / "new.jpg"
    shutil.copy(grocery.items[11].image, fresh)
    fresh.write_bytes(fresh.read_bytes() + b"\0")  # new content, new key: computed, not confused with the old
    assert np.allclose(lit_encoder.encode_image_files([fresh]), lit_encoder.encode_images([fresh]).vectors, atol=1e-5)
    texts = [item.text for item in grocery.items[:12]] + ["a short title", "green apple"]
    assert np.allclose(lit_encoder.encode_item_texts(texts), lit_encoder.encode_texts(texts), atol=1e-5)


def test_clip_training_pairs_never_hold_a_held_out_item_or_an_evaluation_photo():
    """Both CLIP recipes train on kit.clip.pairs; what the benchmarks test on must stay out of it."""
    from kit.bundled_catalogs import CATALOG_TABLE, PHOTO_CATALOGS, item_split, open_catalog
    from kit.clip.pairs import query_photos, training_pairs

    for pairs in training_pairs(PHOTO_CATALOGS):
        spec, catalog = CATALOG_TABLE[pairs.catalog], open_catalog(pairs.catalog)
        trained = set(pairs.paths)
        assert len(pairs.paths) == len(pairs.texts) == len(pairs.group) > 0
        text_of = {item.image: item.text for item in catalog}
        assert all(text == text_of.get(path, catalog.items[group].text)  # a product's own photo, or a shopper's of it
                   for path, text, group in zip(pairs.paths, pairs.texts, pairs.group))
        if spec.holdout:
            held_out = item_split(catalog, spec.holdout)[1]
            assert held_out and not trained & {item.image for item in held_out}
        if spec.photo_queries:
            assert pairs.distinct  # several photos of one product: batches must not repeat it
            for split in ("val", "test"):
                assert not trained & set(query_photos(pairs.catalog, split).paths)


def test_a_new_catalog_with_held_out_items_is_one_record(tmp_path, monkeypatch):
    """A catalog the code has never heard of trains and is evaluated through its CatalogSpec alone."""
    from kit import bundled_catalogs
    from kit.bundled_catalogs import CatalogSpec, load_catalog
    from kit.clip.pairs import training_pairs
    from kit.search.evaluate import attribute_queries

    rows = ["id,title,category,colour,kind,who,image"]
    for i, (colour, kind, who) in enumerate([(c, k, w) for c in ("Red", "Blue") for k in ("Shirt", "Scarf")
                                              for w in ("Men", "Women")] * 3):
        Image.new("RGB", (32, 32), colour.lower()).save(tmp_path / f"{i}.png")
        rows.append(f"p{i},{colour} {kind},Clothes,{colour},{kind},{who},{i}.png")
    (tmp_path / "shop.csv").write_text("\n".join(rows) + "\n")
    spec = CatalogSpec("tiny_shop", "Tiny shop", "24 made-up items", lambda strict: load_catalog(tmp_path / "shop.csv"),
                       has_photos=True, holdout=0.25, attribute_query="{colour} {kind} for {who}")
    monkeypatch.setitem(bundled_catalogs.CATALOG_TABLE, spec.name, spec)
    (pairs,) = training_pairs(("tiny_shop",))
    assert len(pairs) == 18 and not pairs.distinct  # 24 items, a quarter held out
    queries = attribute_queries(spec=spec)
    assert queries and all(len(q.relevant) == 3 for q in queries)  # each (colour, kind, who) three times
    assert all(q.text.split()[0] in ("red", "blue") and " for " in q.text for q in queries)
