"""The label-conditioned product image model: requests read from words, guided sampling that a seed
reproduces, inpainting that keeps the known pixels, and a few real training steps that resume exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from kit.cli import main
from kit.errors import BadInput
from kit.imagery.conditions import LabelEmbedding, item_indices, read_labels
from kit.imagery.label_pipeline import LabelConditionedPipeline, product_unet
from kit.imagery.label_train import LabelDiffusionConfig, train_label_diffusion, training_photos
from kit.imagery.labels import read_label
from kit.imagery.products import ProductsFromLabels

pytestmark = pytest.mark.xdist_group("imagery")
VALUES = (["Tshirts", "Shirts", "Casual Shoes", "Sports Shoes", "Watches"], ["Black", "Blue", "Navy Blue", "White"],
          ["Men", "Women", "Unisex"])


@pytest.fixture(scope="module")
def tiny_pipe() -> LabelConditionedPipeline:
    from diffusers import DDIMScheduler

    from kit.imagery.label_pipeline import training_scheduler

    torch.manual_seed(0)
    labels = LabelEmbedding(values=VALUES, dim=32)
    pipe = LabelConditionedPipeline(product_unet(16, (8, 16)), labels,
                                    DDIMScheduler.from_config(training_scheduler().config))
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.mark.parametrize("text, expected", [
    ("navy blue t-shirt for men", {"articleType": "Tshirts", "baseColour": "Navy Blue", "gender": "Men"}),
    ("a blue shirt for women", {"articleType": "Shirts", "baseColour": "Blue", "gender": "Women"}),
    ("white sports shoes", {"articleType": "Sports Shoes", "baseColour": "White"}),
    ("Men's watch", {"articleType": "Watches", "gender": "Men"}),
])
def test_requests_in_words_become_the_labels_the_model_knows(tiny_pipe, text, expected):
    assert read_labels(text, tiny_pipe.labels) == expected


def test_a_label_the_model_never_learned_is_refused_with_the_known_ones(tiny_pipe):
    with pytest.raises(BadInput, match="Sarees.*knows: Tshirts, Shirts"):
        tiny_pipe({"articleType": "Sarees"}, num_inference_steps=2)
    with pytest.raises(BadInput, match="no label the model knows"):
        read_labels("a picnic basket", tiny_pipe.labels)
    with pytest.raises(BadInput, match="conditioned on articleType, baseColour, gender, not season"):
        tiny_pipe({"season": "Summer"}, num_inference_steps=2)


def test_a_seed_reproduces_an_image_exactly_and_labels_steer_the_sample(tiny_pipe):
    request = {"articleType": "Tshirts", "baseColour": "Black"}
    first = tiny_pipe([request] * 2, num_inference_steps=3, generator=torch.Generator().manual_seed(3))
    again = tiny_pipe([request] * 2, num_inference_steps=3, generator=torch.Generator().manual_seed(3))
    other = tiny_pipe([{"articleType": "Watches", "baseColour": "White"}] * 2, num_inference_steps=3,
                      generator=torch.Generator().manual_seed(3))
    assert first.images[0].size == (16, 16) and first.labels == [request, request]
    assert [np.asarray(i).tolist() for i in first.images] == [np.asarray(i).tolist() for i in again.images]
    assert np.asarray(first.images[0]).tolist() != np.asarray(first.images[1]).tolist()  # two draws, two noises
    assert np.asarray(first.images[0]).tolist() != np.asarray(other.images[0]).tolist()  # same noise, other labels


def test_inpainting_keeps_every_pixel_outside_the_mask(tiny_pipe):
    photo = np.full((16, 16, 3), 255, np.uint8)
    photo[4:12, 5:11] = (200, 30, 30)
    mask = np.ones((16, 16), np.uint8)
    mask[4:12, 5:11] = 0  # draw the background, keep the product
    out = tiny_pipe({"articleType": "Tshirts"}, num_inference_steps=3, generator=torch.Generator().manual_seed(0),
                    image=Image.fromarray(photo), mask=mask).images[0]
    drawn = np.asarray(out)
    assert (drawn[4:12, 5:11] == photo[4:12, 5:11]).all()
    assert not (drawn[mask == 1] == 255).all()  # the background was drawn, not copied
    with pytest.raises(BadInput, match="both the image and the mask"):
        tiny_pipe({"articleType": "Tshirts"}, image=Image.fromarray(photo))


@pytest.mark.slow
def test_training_lowers_the_loss_resumes_exactly_and_draws_from_the_cli(tmp_path, capsys):
    config = LabelDiffusionConfig(resolution=16, channels=(8, 16), batch_size=8, lr=2e-3, warmup_steps=1,
                                  checkpoint_every=10, max_images=128, min_photos=5)
    data = training_photos(config)
    assert data.pixels.shape == (128, 3, 16, 16) and data.pixels.dtype == torch.uint8
    full = LabelDiffusionConfig(**{**config.__dict__, "steps": 40})
    straight = train_label_diffusion(full, out=tmp_path / "straight", data=data, progress=False)
    half = LabelDiffusionConfig(**{**config.__dict__, "steps": 20})
    split = train_label_diffusion(half, out=tmp_path / "split", data=data, progress=False)
    with pytest.raises(BadInput, match="--resume"):
        train_label_diffusion(full, out=split, data=data, progress=False)
    train_label_diffusion(full, out=split, data=data, progress=False, resume=True)
    a, b = (load_file(folder / "snapshots" / "step-000040.safetensors") for folder in (straight, split))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    record = json.loads((split / "training.json").read_text())
    losses = [point["fixed_loss"] for point in record["curve"]]
    assert record["steps"] == 40 and len(losses) == 4 and losses[-1] < losses[0]
    rows = item_indices(data.items, LabelEmbedding.from_pretrained(split / "labels"))
    assert rows.shape == (128, 3) and (rows[:, 0] < len(record["label_values"][0])).any()
    draw = ProductsFromLabels.from_pretrained(path=split, device="cpu")
    known = record["label_values"][0][0]
    assert main(["imagery", "generate", known.lower(), "--model-path", str(split), "--n", "2", "--steps", "2",
                 "--out", str(tmp_path / "drawn")]) == 0
    written = json.loads((tmp_path / "drawn" / "labels.json").read_text())
    assert written["labels"] == {"articleType": known} == draw.read(known.lower())
    assert read_label(tmp_path / "drawn" / "000.png")["generator"] == "shopkit-fashion-diffusion"
    assert main(["imagery", "generate", "a picnic basket", "--model-path", str(split), "--out", str(tmp_path / "x")]) == 2  # a clear error, no traceback
    assert "no label the model knows" in capsys.readouterr().err
