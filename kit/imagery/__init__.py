"""Generated product imagery over diffusers, and the kit's own small text-to-image model."""

from kit.imagery.generate import BackgroundReplacement, ProductImageVariation, TextToProductImage
from kit.imagery.labels import GeneratedImage, read_label
from kit.imagery.prompts import background_mask, product_prompt

__all__ = ["BackgroundReplacement", "GeneratedImage", "ProductImageVariation", "TextToProductImage",
           "background_mask", "product_prompt", "read_label"]
