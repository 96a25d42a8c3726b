"""``ItemEncoder``: image and text embeddings in one space, from any open_clip model the registry resolves.

    >>> encoder = ItemEncoder.from_pretrained()                         # the registry's default (shopkit-lit-ft)
    >>> encoder = ItemEncoder.from_pretrained("shopkit-lit")            # the frozen-tower version, by name
    >>> encoder = ItemEncoder.from_pretrained("ViT-B-32/laion2b_s34b_b79k")  # where a cache has it
    >>> text = encoder.encode_texts(["green apple"])                       # (1, D), L2-normalized
    >>> batch = encoder.encode_images(["a.jpg", "corrupt.jpg"])            # skips what it cannot read
    >>> batch.vectors.shape, batch.skipped                                 # ((1, D), [(1, 'corrupt ...')])

The model comes with its own preprocessing and tokenizer (open_clip's ``create_model_and_transforms``
and ``get_tokenizer``), so they cannot be mismatched. On a GPU the model runs in fp16.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import torch

from kit.errors import BadInput, KitError, UnknownModel
from kit.images import ImageInput, load_image
from kit.registry import REGISTRY, ModelRegistry, ModelSpec, sha256_of

log = logging.getLogger(__name__)


@dataclass
class EncodedImages:
    """Vectors for the images that could be read; ``skipped`` says which could not, and why."""

    vectors: np.ndarray  # (n_ok, D)
    indices: list[int]  # positions in the input that ``vectors`` rows belong to
    skipped: list[tuple[int, str]] = field(default_factory=list)


def _open_clip_spec(name: str) -> ModelSpec | None:
    """A registry spec for any open_clip ``ARCH/TAG`` pair that open_clip knows (weights still resolved)."""
    import open_clip

    arch, _, tag = name.partition("/")
    if not tag or (arch, tag) not in set(open_clip.list_pretrained()):
        return None
    return ModelSpec(name=name, kind="clip", task="image-text embeddings (open_clip)", license="see the model's page",
                     description=f"open_clip {arch} with the {tag} weights", homepage="https://github.com/mlfoundations/open_clip",
                     source={"type": "open_clip", "architecture": arch, "tag": tag}, weights={"file": None, "sha256": None})


class ItemEncoder:
    def __init__(self, name: str, model: torch.nn.Module, preprocess, tokenizer, device: str = "cpu",
                 fingerprint: str | None = None, frozen_image_trunk: str | None = None,
                 frozen_text_trunk: str | None = None, frozen_image_split: int | None = None) -> None:
        """``frozen_image_trunk`` / ``frozen_text_trunk``: the cache keys of the towers' features when they are
        the frozen pretrained ones (shopkit-lit); catalog embeddings then reuse what training cached.
        ``frozen_image_split``: the image tower's stages below it are the pretrained ones (shopkit-lit-ft), so
        catalog photos start from the activations training cached there."""
        self.name, self.model, self.preprocess, self.tokenizer = name, model.eval(), preprocess, tokenizer
        self.device = device
        self.dtype = torch.float16 if device.startswith("cuda") else torch.float32
        self.model.to(device=device, dtype=self.dtype)
        self.model.visual.to(memory_format=torch.channels_last)  # 2-5x faster convolutions on CPU (measured)
        self.fingerprint = fingerprint or name  # changes when the weights change (keys the embedding cache)
        self.frozen_image_trunk, self.frozen_text_trunk = frozen_image_trunk, frozen_text_trunk
        self.frozen_image_split = frozen_image_split

    @classmethod
    def from_pretrained(cls, name: str | None = None, device: str | None = None, path: str | Path | None = None,
                        registry: ModelRegistry = REGISTRY) -> "ItemEncoder":
        """Load ``name`` through the registry; ``path`` points at your own copy (e.g. a notebook's model).

        Without a name: the registry's default image-text model, or its declared fallback (with a warning
        saying how to train the default) while the default is not trained yet."""
        import open_clip

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if name is None:
            name = registry.available_default("clip")
        try:
            spec = registry.get(name)
        except UnknownModel:
            spec = _open_clip_spec(name)
            if spec is None:
                raise
            registry.register(spec)  # an open_clip pair: resolved like any registered name
        if spec.kind != "clip":
            raise KitError(f"{name!r} is a {spec.kind} model; image-text models: {registry.list_models('clip')}")
        resolved = registry.resolve(name, path=path)
        if spec.source_type == "trained":
            folder = resolved.path
            _repair_local_paths(folder, registry)
            model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{folder}", device=device)
            tokenizer = open_clip.get_tokenizer(f"local-dir:{folder}")
            fingerprint = f"{name}@{sha256_of(resolved.weights_path)[:16]}"
            frozen = (spec.source.get("frozen_image_trunk"), spec.source.get("frozen_text_trunk"),
                      _frozen_image_split(folder))
        else:
            arch = spec.source["architecture"]
            model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=str(resolved.weights_path), device=device)
            tokenizer = open_clip.get_tokenizer(arch)
            fingerprint, frozen = name, (None, None, None)
        return cls(name, model, preprocess, tokenizer, device, fingerprint, *frozen)

    @property
    def dim(self) -> int:
        return int(self.encode_texts(["x"]).shape[1])

    @torch.no_grad()
    def encode_texts(self, texts: Sequence[str], batch_size: int = 128) -> np.ndarray:
        """L2-normalized text embeddings, (len(texts), D). An empty text is refused."""
        texts = _checked(texts)
        out = []
        for start in range(0, len(texts), batch_size):
            tokens = self._tokenize(texts[start:start + batch_size]).to(self.device)
            out.append(self.model.encode_text(tokens, normalize=True).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)

    def _tokenize(self, texts: list[str]) -> torch.Tensor:
        from kit.clip.lit import tokenize_to_longest

        return tokenize_to_longest(self.tokenizer, texts)

    def encode_item_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Like :meth:`encode_texts` for catalog texts; with a frozen text tower, its pooled features come from
        the content-keyed cache that training filled, so only the projection head runs here."""
        if self.frozen_text_trunk is None:
            return self.encode_texts(texts)
        from kit.clip.lit import text_trunk_features

        texts = _checked(texts)
        return self._project(self.model.text.proj, text_trunk_features(self.model, self.tokenizer, texts))

    def encode_image_files(self, paths: Sequence[Path], batch_size: int = 8) -> np.ndarray:
        """Embeddings of image files, rows aligned with ``paths``; an unreadable file raises BadInput.

        With a frozen image trunk the trunk's features come from the content-keyed cache that training
        filled (kit/clip/lit.py), so each photo goes through the trunk once, ever; only the head runs here.
        """
        if self.frozen_image_split is not None:
            return self._encode_from_stages(list(paths), batch_size)
        if self.frozen_image_trunk is None:
            return self.encode_images(list(paths), batch_size, on_error="raise").vectors
        from kit.clip.lit import image_trunk_features

        return self._project(self.model.visual.head,
                             image_trunk_features(self.model, self.preprocess, list(paths), batch_size))

    @torch.inference_mode()
    def _encode_from_stages(self, paths: list[Path], batch_size: int) -> np.ndarray:
        """The trained top stages and head over the cached activations of the frozen bottom (centre crops)."""
        from kit.clip.finetune import N_BLOCKS, run_frozen, stage_activations

        split = self.frozen_image_split
        acts = stage_activations(self.model, self.preprocess, paths, split, views=1, batch_size=batch_size)
        pooled = run_frozen(self.model.visual.trunk, split, N_BLOCKS, acts)[0].numpy()
        return self._project(self.model.visual.head, pooled)

    @torch.inference_mode()
    def _project(self, head: torch.nn.Module, features: np.ndarray) -> np.ndarray:
        """A tower's head over its cached trunk features, L2-normalized (what the full tower computes)."""
        out = head(torch.from_numpy(features).to(self.device, self.dtype))
        return torch.nn.functional.normalize(out.float(), dim=-1).cpu().numpy()

    @torch.no_grad()
    def encode_images(self, images: Sequence[ImageInput], batch_size: int = 8,
                      on_error: Literal["skip", "raise"] = "skip") -> EncodedImages:
        """Embeddings of the readable images. ``on_error="skip"``: unreadable ones are skipped and
        reported, the rest go on; ``"raise"``: the first unreadable one raises BadInput (for callers whose
        rows must line up with their inputs, such as caches and evaluations)."""
        if on_error not in ("skip", "raise"):
            raise BadInput(f"on_error must be 'skip' or 'raise', got {on_error!r}")
        pixels, indices, skipped, out = [], [], [], []
        for i, image in enumerate(images):
            try:
                pixels.append(self.preprocess(load_image(image)))
                indices.append(i)
            except BadInput as exc:
                if on_error == "raise":
                    raise
                skipped.append((i, str(exc)))
                log.warning("skipped image %d: %s", i, exc)
            if len(pixels) == batch_size:
                out.append(self.encode_pixels(pixels))
                pixels = []
        if pixels:
            out.append(self.encode_pixels(pixels))
        vectors = np.concatenate(out) if out else np.zeros((0, 0), np.float32)
        return EncodedImages(vectors, indices, skipped)

    def encode_image(self, image: ImageInput) -> np.ndarray:
        """One image's embedding, (D,); an unreadable image raises BadInput."""
        return self.encode_images([image], on_error="raise").vectors[0]

    @torch.inference_mode()
    def encode_pixels(self, pixels: list[torch.Tensor]) -> np.ndarray:
        """Embeddings of preprocessed images (``self.preprocess`` outputs), one batch."""
        batch = torch.stack(pixels).to(self.device, self.dtype).contiguous(memory_format=torch.channels_last)
        return self.model.encode_image(batch, normalize=True).float().cpu().numpy()


def _checked(texts: Sequence[str]) -> list[str]:
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise BadInput(f"text {i} is empty; a query needs at least one word")
    return texts


def _frozen_image_split(folder: Path) -> int | None:
    """Where a fine-tuned model's training cut the image tower (its training.json), if it did."""
    from kit.clip.finetune import N_BLOCKS

    training = folder / "training.json"
    config = json.loads(training.read_text()).get("config", {}) if training.is_file() else {}
    return N_BLOCKS - int(config["cached_stages"]) if "cached_stages" in config else None


def _repair_local_paths(folder: Path, registry: ModelRegistry) -> None:
    """Point a trained model's text-tower paths at this machine's copy of MiniLM (they are absolute)."""
    from kit.clip.lit import write_model_folder

    config = json.loads((folder / "open_clip_config.json").read_text())
    if not Path(config["model_cfg"]["text_cfg"]["hf_model_name"]).exists():
        write_model_folder(folder, registry)
