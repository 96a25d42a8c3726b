"""Opening images safely: every caller gets an RGB picture or a :class:`BadInput` that says why not.

Checks: the file exists and is an image, it is not truncated, and it is not a decompression bomb
(more than ``max_pixels`` pixels, 40 megapixels by default; a 20000 x 20000 PNG is refused from its
header, before any pixel is decoded). PIL's global ``MAX_IMAGE_PIXELS`` is left untouched.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from kit.errors import BadInput

MAX_PIXELS = 40_000_000
ImageInput = Union[str, Path, bytes, Image.Image, np.ndarray]


def _open(source: ImageInput) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        if source.ndim not in (2, 3):
            raise BadInput(f"an image array must be HxW or HxWxC, got shape {source.shape}")
        return Image.fromarray(source.astype(np.uint8) if source.dtype != np.uint8 else source)
    if isinstance(source, bytes):
        return Image.open(io.BytesIO(source))
    path = Path(source)
    if not path.is_file():
        raise BadInput(f"image file not found: {path}")
    return Image.open(path)


def image_size(source: ImageInput, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """Read only the header: (width, height), or BadInput for a non-image or an oversized image."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = _open(source)
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise BadInput(f"not a readable image ({_describe(source)}): {exc}") from exc
        except OSError as exc:
            raise BadInput(f"image {_describe(source)} is corrupt or truncated: {exc}") from exc
    width, height = image.size
    if width * height > max_pixels:
        raise BadInput(
            f"image {_describe(source)} is {width}x{height} = {width * height:,} pixels, over the "
            f"{max_pixels:,}-pixel limit (a possible decompression bomb); resize it first."
        )
    return width, height


def load_image(source: ImageInput, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode ``source`` fully into an RGB image, refusing bombs, truncation and non-images."""
    image_size(source, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = _open(source)
            image.load()
    except (OSError, Image.DecompressionBombWarning, SyntaxError) as exc:
        raise BadInput(f"image {_describe(source)} is corrupt or truncated: {exc}") from exc
    return image.convert("RGB")


def _describe(source: ImageInput) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    if isinstance(source, bytes):
        return f"<{len(source)} bytes>"
    return f"<{type(source).__name__}>"
