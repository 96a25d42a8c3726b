"""Product pictures asked for in words: "navy blue t-shirt for men" -> labels -> labelled generated images.

    >>> draw = ProductsFromLabels.from_pretrained()                  # shopkit-fashion-diffusion, offline
    >>> result = draw("navy blue t-shirt for men", n=4, generator=torch.Generator().manual_seed(0))
    >>> result.labels                                                # what was read from the words
    {'articleType': 'Tshirts', 'baseColour': 'Navy Blue', 'gender': 'Men'}
    >>> result.images[0].save("tshirt.png")                         # a PNG labelled as generated

The words are read against the labels the model was trained on (:func:`kit.imagery.conditions.read_labels`);
an unknown label given as a dict is an error that lists the known ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from kit.catalog import Item
from kit.errors import KitError
from kit.imagery.conditions import Labels, read_labels
from kit.imagery.label_pipeline import LabelConditionedPipeline
from kit.imagery.labels import GeneratedImage
from kit.registry import REGISTRY, ModelRegistry

TASK = "labels-to-image"


@dataclass
class DrawnProducts:
    labels: dict[str, str]  # the request the model was given
    images: list[GeneratedImage]


def describe(labels: Labels) -> str:
    return ", ".join(f"{key}={value}" for key, value in labels.items())


class ProductsFromLabels:
    def __init__(self, pipe: LabelConditionedPipeline, name: str) -> None:
        self.pipe, self.name = pipe, name

    @classmethod
    def from_pretrained(cls, name: str = "shopkit-fashion-diffusion", path: str | Path | None = None,
                        device: str | None = None, registry: ModelRegistry = REGISTRY) -> "ProductsFromLabels":
        """A registry name (resolved offline; a clear error says how to train missing weights) or a folder."""
        spec = registry.get(name)
        if spec.kind != "diffusion":
            raise KitError(f"{name!r} is not an image generator; image generators: {registry.list_models('diffusion')}")
        pipe = LabelConditionedPipeline.from_pretrained(registry.resolve(name, path=path).path)
        pipe.set_progress_bar_config(disable=True)
        return cls(pipe.to(device or ("cuda" if torch.cuda.is_available() else "cpu")), name)

    def read(self, text: str) -> dict[str, str]:
        """The labels ``text`` names among those the model knows."""
        return read_labels(text, self.pipe.labels)

    def labels_of(self, item: Item) -> dict[str, str]:
        """The item's own labels that the model knows ({} when it does not know its article type)."""
        embedding = self.pipe.labels
        known = {a: item.attributes[a] for a in embedding.attributes if item.attributes.get(a) in embedding.values(a)}
        return known if embedding.attributes[0] in known else {}

    def __call__(self, request: str | Labels, n: int = 1, num_inference_steps: int = 25, guidance_scale: float = 3.0,
                 generator: torch.Generator | None = None) -> DrawnProducts:
        labels = self.read(request) if isinstance(request, str) else dict(request)
        drawn = self.pipe([labels] * n, num_inference_steps=num_inference_steps, guidance_scale=guidance_scale,
                          generator=generator)
        seed = generator.initial_seed() if generator is not None else None
        prompt = request if isinstance(request, str) else describe(labels)
        return DrawnProducts(labels, [GeneratedImage(image, f"{prompt} [{describe(labels)}]", self.name, seed, TASK)
                                      for image in drawn.images])
