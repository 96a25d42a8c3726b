"""Opening images safely: every caller gets an RGB picture or a :class:`BadInput` that says why not.

Checks: the file exists and is an image, it is not truncated, and it is not a decompression bomb
(more than ``max_pixels`` pixels, 40 megapixels by default; a 20000 x 20000 PNG is refused from its
header, before any pixel is decoded). PIL's global ``MAX_IMAGE_PIXELS`` is left untouched.

The picture keeps its content through every mode: 16- and 32-bit greyscale is scaled to 8 bits (PIL's
own conversion clips it, turning a 16-bit photo white), transparency is laid on white, CMYK and palette
images become RGB, the EXIF orientation is applied, an animation gives its first frame, and arrays of
floats in [0, 1] or of 16-bit integers are scaled, not wrapped.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from kit.errors import BadInput

MAX_PIXELS = 40_000_000
ImageInput = Union[str, Path, bytes, Image.Image, np.ndarray]


def _open(source: ImageInput) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        return Image.fromarray(_array_to_uint8(source))
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
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise BadInput(f"image {_describe(source)} is over the {max_pixels:,}-pixel limit (a possible "
                           f"decompression bomb: {exc}); resize it first.") from exc
        except (UnidentifiedImageError, SyntaxError, ValueError) as exc:  # a format's header it cannot parse
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


def load_image(source: ImageInput, max_pixels: int = MAX_PIXELS, draft_size: int | None = None) -> Image.Image:
    """Decode ``source`` into an RGB image, refusing bombs, truncation and non-images.

    ``draft_size``: a JPEG may be decoded at 1/2, 1/4 or 1/8 scale, as long as both sides stay at least this
    many pixels (PIL's ``draft``; 5x faster decoding for a model that resizes to 224 anyway)."""
    image_size(source, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = _open(source)
            if draft_size is not None and image.format == "JPEG":
                image.draft("RGB", (draft_size, draft_size))
            if getattr(image, "is_animated", False):
                image.seek(0)  # an animation: its first frame
            image.load()
            image = ImageOps.exif_transpose(image) or image
    except (OSError, Image.DecompressionBombWarning, SyntaxError, ValueError) as exc:
        raise BadInput(f"image {_describe(source)} is corrupt or truncated: {exc}") from exc
    return to_rgb(image)


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB with the picture intact, whatever the mode (see the module docstring)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return Image.fromarray(_array_to_uint8(np.asarray(image))).convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _array_to_uint8(array: np.ndarray) -> np.ndarray:
    """An image array as uint8: floats in [0, 1] times 255, 16-bit integers shifted, larger ranges scaled."""
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise BadInput(f"an image array must be HxW or HxWxC with 1, 3 or 4 channels, got shape {array.shape}")
    if array.size == 0:
        raise BadInput(f"the image array is empty (shape {array.shape})")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        raise BadInput("the image array holds NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if np.issubdtype(array.dtype, np.floating) and low >= 0 and high <= 1:
        return np.round(values * 255).astype(np.uint8)
    if low >= 0 and high <= 255:
        return values.astype(np.uint8)
    if low >= 0 and high <= 65535:
        return np.round(values / 257).astype(np.uint8)  # 16-bit range to 8-bit
    return np.round((values - low) / max(high - low, 1e-12) * 255).astype(np.uint8)


def _describe(source: ImageInput) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    if isinstance(source, bytes):
        return f"<{len(source)} bytes>"
    return f"<{type(source).__name__}>"
