"""Generated imagery: tiny pipelines built here (as diffusers' fast tests do), prompts, masks, labels,
and a few real training steps of the kit's own model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import DDPMScheduler
from PIL import Image

from kit.errors import BadInput
from kit.imagery import (BackgroundReplacement, ProductImageVariation, TextToProductImage, background_mask,
                         product_prompt, read_label)
from kit.imagery.pixel_pipeline import TextConditionedPixelPipeline, tiny_unet
from kit.imagery.train import DiffusionTrainConfig, load_training_data, train_diffusion

# one unit for the test workers: the tests share this module's set-up (see conftest)
pytestmark = pytest.mark.xdist_group("imagery")


@pytest.fixture(scope="module")
def tiny_pipe():
    torch.manual_seed(0)
    pipe = TextConditionedPixelPipeline(tiny_unet(16, 384, (8, 16)), DDPMScheduler(num_train_timesteps=100))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def product_photo(size: int = 16) -> Image.Image:
    """A red product on a white backdrop."""
    array = np.full((size, size, 3), 255, np.uint8)
    array[4:12, 5:11] = (200, 30, 30)
    return Image.fromarray(array)


def test_text_to_image_has_the_right_shape_and_is_reproducible(tiny_pipe, minilm):
    make = TextToProductImage(tiny_pipe, "tiny", minilm.encode)
    first = make("Valio Vanilla Yoghurt, Yoghurt", num_inference_steps=4, generator=torch.Generator().manual_seed(7))
    again = make("Valio Vanilla Yoghurt, Yoghurt", num_inference_steps=4, generator=torch.Generator().manual_seed(7))
    other = make("Valio Vanilla Yoghurt, Yoghurt", num_inference_steps=4, generator=torch.Generator().manual_seed(8))
    assert first.image.size == (16, 16) and first.image.mode == "RGB"
    assert np.array_equal(np.asarray(first.image), np.asarray(again.image))
    assert not np.array_equal(np.asarray(first.image), np.asarray(other.image))
    assert first.seed == 7 and "generated" in first.label.lower()
    with pytest.raises(BadInput, match="empty"):
        make("  ")


def test_variation_strength_controls_how_far_the_image_moves(tiny_pipe, minilm):
    vary = ProductImageVariation(tiny_pipe, "tiny", minilm.encode)
    photo = product_photo()
    original = np.asarray(photo, np.float32)

    def distance(strength: float) -> float:
        out = vary(photo, "red apple", strength=strength, num_inference_steps=10,
                   generator=torch.Generator().manual_seed(0))
        return float(np.abs(np.asarray(out.image, np.float32) - original).mean())

    assert distance(0.1) < distance(1.0)
    with pytest.raises(BadInput, match="strength"):
        vary(photo, "red apple", strength=0.0)


def test_background_replacement_keeps_the_product_pixels(tiny_pipe, minilm):
    replace = BackgroundReplacement(tiny_pipe, "tiny", minilm.encode)
    photo = product_photo()
    mask = background_mask(photo)
    assert mask[8, 8] == 0 and mask[0, 0] == 1 and mask.sum() == 16 * 16 - 8 * 6
    out = replace(photo, "on a picnic table", num_inference_steps=5, generator=torch.Generator().manual_seed(0))
    kept = mask == 0
    assert np.abs(np.asarray(out.image, int)[kept] - np.asarray(photo, int)[kept]).max() <= 1
    assert np.abs(np.asarray(out.image, int)[~kept] - 255).mean() > 5  # the background changed
    with pytest.raises(BadInput, match="no product"):
        background_mask(Image.new("RGB", (16, 16), "white"))


def test_prompts_come_from_catalog_items_and_the_wish(grocery):
    prompt = product_prompt(grocery["Valio-Vanilla-Yoghurt"], "on a picnic table\n\nand more")
    assert prompt.startswith("Valio Vanilla Yoghurt, Yoghurt") and prompt.endswith("on a picnic table and more")


def test_generated_images_are_labelled_in_their_files(tiny_pipe, minilm, tmp_path):
    image = TextToProductImage(tiny_pipe, "tiny", minilm.encode)("lemon", num_inference_steps=2,
                                                                  generator=torch.Generator().manual_seed(1))
    path = image.save(tmp_path / "lemon.png")
    label = read_label(path)
    assert label["ai_generated"] == "true" and label["generator"] == "tiny" and label["prompt"] == "lemon"
    product_photo().save(tmp_path / "photo.png")
    assert read_label(tmp_path / "photo.png") == {}
    with pytest.raises(ValueError, match="PNG"):
        image.save(tmp_path / "lemon.jpg")


@pytest.mark.slow
def test_training_lowers_the_loss_resumes_and_loads(tmp_path):
    import json

    config = DiffusionTrainConfig(resolution=16, channels=(8, 16), steps=20, batch_size=8, max_images=64,
                                  checkpoint_every=10, lr=1e-3)
    data = load_training_data(config)
    assert data.pixels.shape == (64, 3, 16, 16) and data.text_embeddings.shape == (64, 384)
    out = train_diffusion(config, out=tmp_path / "model", device="cpu", progress=False, data=data)
    first_run = json.loads((out / "training.json").read_text())
    longer = DiffusionTrainConfig(**{**config.__dict__, "steps": 40})
    train_diffusion(longer, out=out, device="cpu", progress=False, data=data)  # resumes at step 20
    record = json.loads((out / "training.json").read_text())
    assert len(record["losses"]) == 40 and record["losses"][:20] == first_run["losses"]
    steps, losses = zip(*record["fixed_loss"])
    assert steps == (0, 10, 20, 30, 40) and losses[-1] < losses[0]
    generated = TextToProductImage.from_pretrained("shopkit-tiny-diffusion", path=out, device="cpu")(
        "Lemon, Lemon", num_inference_steps=3, generator=torch.Generator().manual_seed(0))
    assert generated.image.size == (16, 16) and generated.model == "shopkit-tiny-diffusion"
