"""Test setup: offline by construction, a per-checkout KIT_HOME, and shared (session) fixtures.

Network is blocked by pytest-socket (loopback allowed, see pyproject's addopts) and hub downloads are
switched off, so an accidental download fails loudly instead of hanging.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("KIT_HOME", str(ROOT / ".kit_home" / "test"))
os.environ["KIT_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def minilm():
    from kit.clip.towers import load_text_encoder

    return load_text_encoder("minilm")


@pytest.fixture(scope="session")
def grocery():
    from kit.bundled_catalogs import open_catalog

    return open_catalog("grocery_store")


@pytest.fixture(scope="session")
def fashion():
    from kit.bundled_catalogs import open_catalog

    return open_catalog("fashion_products")


@pytest.fixture(scope="session")
def whisper():
    from kit.speech import WhisperTranscriber

    return WhisperTranscriber.from_registry("whisper-tiny.en")


@pytest.fixture()
def espeak_clip(tmp_path):
    """A real speech clip made with espeak-ng (a Debian package the setup installs)."""
    import shutil
    import subprocess

    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: `make test` installs it; run `apt-get install espeak-ng`")

    def make(text: str) -> Path:
        path = tmp_path / f"clip{abs(hash(text))}.wav"
        subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
        return path

    return make


@pytest.fixture(scope="session")
def lit_encoder():
    """shopkit-lit trained once per KIT_HOME on a small, fast configuration, then loaded by name.

    Grocery (all train photos) plus the first 600 fashion train items, 15 epochs: the same code path as
    the full model, minutes on 2 cores the first time and a cache hit afterwards.
    """
    from kit.clip.encoder import ItemEncoder
    from kit.clip.lit import LitConfig, train_lit
    from kit.clip.model_card import write_model_card
    from kit.registry import REGISTRY

    if not REGISTRY.status("shopkit-lit").available:
        folder, _, _ = train_lit(config=LitConfig(epochs=15, max_fashion_items=600))
        write_model_card(folder)
    return ItemEncoder.from_pretrained("shopkit-lit", device="cpu")


@pytest.fixture(scope="session")
def grocery_search(grocery, lit_encoder):
    from kit.search import CatalogSearch

    return CatalogSearch.build(grocery, lit_encoder)


@pytest.fixture(scope="session")
def youshu():
    from kit.bundles.data import load_bundles

    return load_bundles("youshu")


@pytest.fixture(scope="session")
def crosscbr_short(youshu):
    """CrossCBR trained for 3 epochs: enough to see it learn; the full run is the benchmark's job."""
    from kit.bundles.train import BundleTrainConfig, train_bundle_model

    return train_bundle_model(youshu, BundleTrainConfig(model="crosscbr", epochs=3, eval_every=3), progress=False)
