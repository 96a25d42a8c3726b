"""What a benchmark section returns: a record of numbers, never markdown.

A section is a function ``(quick: bool) -> Section``. Its record holds the numbers (``numbers``, saved as
JSON beside docs/benchmarks.md), the settings it ran with, the targets it is held to and the blocks the
renderer turns into markdown: prose written by a person (``Text``), tables of measured cells (``Table``),
targets (``Target``: met or missed is computed from the number, never typed) and figures (``Figure``:
line plots the renderer draws). Files a section wants beside the docs (a model card) travel as text in
``files``; the renderer writes them, so a section never writes into docs/ itself.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from datetime import date


def machine_line() -> str:
    """What the numbers were measured on: cores, processor, torch and its threads, the GPU if any."""
    import torch

    if torch.cuda.is_available():
        return f"GPU {torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    return (f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), torch {torch.__version__}, "
            f"{torch.get_num_threads()} torch threads, no GPU")


@dataclass
class Text:
    """Prose around the numbers: what was measured and how. Numbers in it are formatted from the record."""

    text: str


@dataclass
class Table:
    """A table of measured cells; floats are shown with ``digits`` decimals, strings as they are."""

    header: list[str]
    rows: list[list]
    title: str = ""  # a "###" heading above the table, if any
    digits: int = 4


@dataclass
class Target:
    """A number held to a bar. ``met`` is computed; ``None`` as value means it was not measured."""

    what: str
    value: float | None
    bar: float
    at_most: bool = False  # lower is better (seconds, WER)

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value <= self.bar if self.at_most else self.value >= self.bar


@dataclass
class Line:
    label: str
    x: list[float]
    y: list[float]


@dataclass
class Panel:
    """One axes of a figure: lines, labels, optional log x-axis, y-limits and a dashed reference line."""

    lines: list[Line]
    xlabel: str
    ylabel: str
    title: str = ""
    xlog: bool = False
    ylim: tuple[float, float] | None = None
    reference_y: float | None = None


@dataclass
class Figure:
    """A figure the renderer draws into docs/``name`` and links with ``caption`` as its alt text."""

    name: str
    caption: str
    panels: list[Panel]


Block = Text | Table | Target | Figure


@dataclass
class Section:
    """One benchmark section's record."""

    title: str
    blocks: list[Block]
    numbers: dict = field(default_factory=dict)  # the raw measurements, for notebooks and the README
    settings: dict = field(default_factory=dict)  # what it ran with (sizes, epochs, seeds, models)
    files: dict[str, str] = field(default_factory=dict)  # docs-relative path -> text (model cards)
    machine: str = field(default_factory=machine_line)
    measured: str = field(default_factory=lambda: date.today().isoformat())
    quick: bool = False  # a smoke run on subsets, not the committed numbers

    @property
    def targets(self) -> list[Target]:
        return [block for block in self.blocks if isinstance(block, Target)]
