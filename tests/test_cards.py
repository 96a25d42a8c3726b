"""Every dataset has a complete card: front matter with the facts, and no empty sections."""

import re
from pathlib import Path

import pytest
import yaml

from kit.datasets import get_dataset_spec, list_datasets

ROOT = Path(__file__).resolve().parents[1]
FRONT_MATTER = {"pretty_name", "dataset", "license", "source", "size", "fields", "known_biases", "citation", "real_or_derived"}
SECTIONS = ["Dataset details", "Uses", "Out of scope", "Dataset structure", "Source", "Bias, risks and limitations",
            "Privacy", "License", "Citation"]


@pytest.mark.parametrize("name", list_datasets())
def test_dataset_card_is_complete(name):
    card = ROOT / get_dataset_spec(name).card
    text = card.read_text()
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert match, f"{card} has no YAML front matter"
    meta = yaml.safe_load(match.group(1))
    assert FRONT_MATTER <= set(meta) and meta["dataset"] == name
    assert "More information needed" not in text
    headings = re.findall(r"^#+ (.+)$", text, re.M)
    for section in SECTIONS:
        assert any(h.startswith(section) for h in headings), f"{card} lacks a '{section}' section"
    bodies = re.split(r"^#{2,} .+$", text, flags=re.M)[1:]
    assert all(body.strip() for body in bodies), f"{card} has an empty section"
