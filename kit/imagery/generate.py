"""Generated product imagery, one class per task, each with ``from_pretrained`` and ``generator=``.

- :class:`TextToProductImage`: a prompt (see kit/imagery/prompts.py) becomes a product image.
- :class:`ProductImageVariation`: a photo becomes a variation of itself (img2img, ``strength``).
- :class:`BackgroundReplacement`: the product stays, its background is generated (inpainting with
  the product mask).

Any diffusers model the registry resolves (e.g. ``stabilityai/sd-turbo`` once cached) runs through
diffusers' own Auto pipelines, in fp16 on a GPU and fp32 on the CPU. The kit's own
``shopkit-tiny-diffusion`` runs through :class:`TextConditionedPixelPipeline`. Every result is a
:class:`GeneratedImage`, labelled as generated.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from kit.clip.towers import load_text_encoder
from kit.errors import BadInput, KitError
from kit.imagery.labels import GeneratedImage
from kit.imagery.pixel_pipeline import TextConditionedPixelPipeline
from kit.imagery.prompts import background_mask
from kit.registry import REGISTRY, ModelRegistry

AUTO_PIPELINES = {"text-to-image": "AutoPipelineForText2Image", "variation": "AutoPipelineForImage2Image",
                  "background": "AutoPipelineForInpainting"}


class _ImageTask:
    task = "text-to-image"

    def __init__(self, pipe, name: str, encode_text=None) -> None:
        self.pipe, self.name, self.encode_text = pipe, name, encode_text

    @classmethod
    def from_pretrained(cls, name: str = "shopkit-tiny-diffusion", device: str | None = None,
                        path: str | Path | None = None, registry: ModelRegistry = REGISTRY):
        """A registry name (resolved offline; a clear error says how to get missing weights) or a folder."""
        spec = registry.get(name)
        if spec.kind != "diffusion":
            raise KitError(f"{name!r} is not an image generator; image generators: {registry.list_models('diffusion')}")
        folder = registry.resolve(name, path=path).path
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if (folder / "unet").is_dir() and _is_pixel_pipeline(folder):
            pipe = TextConditionedPixelPipeline.from_pretrained(folder).to(device)
            return cls(pipe, name, load_text_encoder("minilm").encode)
        import diffusers

        dtype = torch.float16 if device == "cuda" else torch.float32
        pipe = getattr(diffusers, AUTO_PIPELINES[cls.task]).from_pretrained(folder, torch_dtype=dtype).to(device)
        return cls(pipe, name)

    def _run(self, prompt: str, generator, steps: int, guidance: float, **kwargs) -> list[Image.Image]:
        if not prompt or not prompt.strip():
            raise BadInput("the prompt is empty: say what to draw")
        if self.encode_text is not None:  # the kit's own pixel-space model
            embeds = torch.from_numpy(np.asarray(self.encode_text([prompt])))
            return self.pipe(embeds, num_inference_steps=steps, guidance_scale=guidance, generator=generator, **kwargs)
        if "mask" in kwargs:
            kwargs["mask_image"] = Image.fromarray(kwargs.pop("mask").astype(np.uint8) * 255)
        return self.pipe(prompt=prompt, num_inference_steps=steps, guidance_scale=guidance, generator=generator,
                         **kwargs).images

    def _label(self, images: list[Image.Image], prompt: str, generator) -> list[GeneratedImage]:
        seed = generator.initial_seed() if generator is not None else None
        return [GeneratedImage(image, prompt, self.name, seed, self.task) for image in images]


def _is_pixel_pipeline(folder: Path) -> bool:
    index = folder / "model_index.json"
    return index.exists() and "TextConditionedPixelPipeline" in index.read_text()


class TextToProductImage(_ImageTask):
    task = "text-to-image"

    def __call__(self, prompt: str, num_inference_steps: int = 50, guidance_scale: float = 2.0,
                 generator: torch.Generator | None = None) -> GeneratedImage:
        images = self._run(prompt, generator, num_inference_steps, guidance_scale)
        return self._label(images, prompt, generator)[0]


class ProductImageVariation(_ImageTask):
    task = "variation"

    def __call__(self, image: Image.Image, prompt: str, strength: float = 0.6, num_inference_steps: int = 50,
                 guidance_scale: float = 2.0, generator: torch.Generator | None = None) -> GeneratedImage:
        images = self._run(prompt, generator, num_inference_steps, guidance_scale, image=image.convert("RGB"),
                           strength=strength)
        return self._label(images, prompt, generator)[0]


class BackgroundReplacement(_ImageTask):
    task = "background"

    def __call__(self, image: Image.Image, prompt: str, mask: np.ndarray | None = None,
                 num_inference_steps: int = 50, guidance_scale: float = 2.0,
                 generator: torch.Generator | None = None) -> GeneratedImage:
        """``mask``: 1 where the new background goes; computed from the photo when not given."""
        image = image.convert("RGB")
        mask = background_mask(image) if mask is None else np.asarray(mask)
        if mask.shape != (image.height, image.width):
            raise BadInput(f"the mask is {mask.shape}, the image {(image.height, image.width)}")
        images = self._run(prompt, generator, num_inference_steps, guidance_scale, image=image, mask=mask)
        return self._label(images, prompt, generator)[0]
