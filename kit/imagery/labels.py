"""Generated images are always labelled: in the object the kit returns and in the PNG file's metadata."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo
from kit.errors import BadInput

LABEL = "AI-generated image, not a product photo"


@dataclass
class GeneratedImage:
    image: Image.Image
    prompt: str
    model: str
    seed: int | None = None
    task: str = "text-to-image"

    @property
    def label(self) -> str:
        return f"{LABEL} ({self.model})"

    def metadata(self) -> dict[str, str]:
        return {"ai_generated": "true", "label": self.label, "generator": self.model, "task": self.task,
                "prompt": self.prompt, "seed": "" if self.seed is None else str(self.seed)}

    def save(self, path: str | Path) -> Path:
        """Write a PNG whose text chunks say it is generated, by which model, from which prompt."""
        path = Path(path)
        if path.suffix.lower() != ".png":
            raise BadInput(f"generated images are saved as PNG (their label lives in PNG metadata), not {path.suffix}")
        info = PngInfo()
        for key, value in self.metadata().items():
            info.add_text(key, value)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.image.save(path, pnginfo=info)
        return path


def read_label(path: str | Path) -> dict[str, str]:
    """The generation metadata of a PNG the kit wrote ({} for a photo that is not generated)."""
    with Image.open(path) as image:
        text = dict(getattr(image, "text", {}) or {})
    return text if text.get("ai_generated") == "true" else {}
