"""Generated imagery: what the trained diffusion model recorded, and its sampling speed."""

from __future__ import annotations

import json
import time

from kit.bench.records import Section, Table, Text

MODEL = "shopkit-tiny-diffusion"
PROMPT = "Granny Smith, Apple"


def imagery(quick: bool = False) -> Section:
    import torch

    from kit.errors import ModelNotAvailable
    from kit.imagery import TextToProductImage
    from kit.registry import REGISTRY

    try:
        folder = REGISTRY.resolve(MODEL).path
    except ModelNotAvailable:
        return Section(title="Generated imagery", quick=quick,
                       blocks=[Text("_Not measured: train the model first (`python -m kit imagery train`)._")])
    record = json.loads((folder / "training.json").read_text())
    generate = TextToProductImage.from_pretrained(MODEL, device="cpu")
    generate.pipe.set_progress_bar_config(disable=True)
    rows = []
    for steps in (25, 50):
        started = time.perf_counter()
        generate(PROMPT, num_inference_steps=steps, generator=torch.Generator().manual_seed(0))
        rows.append([steps, round(time.perf_counter() - started, 2)])
    config = record["config"]
    return Section(
        title="Generated imagery", quick=quick, settings=config, numbers={"training": record, "sampling": rows},
        blocks=[
            Text(f"`{MODEL}`: {config['resolution']} px, channels {tuple(config['channels'])}, trained {record['step']} "
                 f"steps (batch {config['batch_size']}, lr {config['lr']}) on {record['images']} photos. Loss on a fixed "
                 "evaluation batch: " + ", ".join(f"step {s}: {loss:.4f}" for s, loss in record["fixed_loss"]) + "."),
            Table(["sampling steps", f"seconds per {config['resolution']}-px image of '{PROMPT}' (CPU, with guidance)"], rows),
            Text("No image-quality metric is claimed; notebook 05 shows generated images next to the real photos."),
        ])
