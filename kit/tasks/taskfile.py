"""Shopping tasks: what a shopper came for, in their words, and how to tell whether a basket meets it.

One JSON object a line (the format is a contract: any task file in it runs unchanged)::

    {"id": "f-017", "catalog": "fashion_products", "kind": "find",
     "turns": ["a navy blue formal shirt for men", "show me navy shirts for office wear"],
     "goal": {"articleType": ["Shirts"], "baseColour": ["Navy Blue"], "gender": ["Men"]}, "min_items": 1}

``goal`` maps an item field or attribute to its allowed values, matched case-insensitively: ``category`` or
any key of ``Item.attributes``, plus ``title_has`` / ``category_has``, whose alternatives are a few words the
title (or category) must all contain as whole words. An item meets the goal when every key matches one of
its alternatives. ``min_items`` (default 1; 3 for ``plan``) counts basket items that meet the goal, the
anchor of a ``complement`` task not included. See :data:`KINDS` for what each kind of task adds.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from kit.catalog import Item
from kit.errors import BadInput

Kind = Literal["find", "refine", "need", "reference", "complement", "plan", "photo", "spoken"]
KINDS: dict[str, str] = {
    "find": "the constraints are stated",
    "refine": "the first request is too broad; later turns narrow it (in black, for women, not that one)",
    "need": "the shopper's own words, without the catalog's label words (something to keep my neck warm)",
    "reference": "turns point at what was shown (the third one, that one but in blue); said exactly as written",
    "complement": "the shopper first adds an item meeting `anchor`, then asks what goes with it",
    "plan": "one turn with a goal (a picnic for four); `min_fit` of the plan's basket must meet the goal",
    "photo": "`photo`, a path inside the catalog's dataset folder, is sent with the first turn",
    "spoken": "every turn is spoken by the kit's voice and sent as audio",
}
WORD_KEYS = ("title_has", "category_has")  # alternatives of words an item's title / category must all contain


@lru_cache(maxsize=1 << 16)
def _words(text: str) -> frozenset[str]:
    """The lower-cased words of a text (cached: a run asks about the same titles again and again)."""
    return frozenset(re.findall(r"[a-z0-9]+", text.lower()))


def _has_words(text: str, phrase: str) -> bool:
    """Every word of ``phrase`` is a whole word of ``text`` (case-insensitive)."""
    return _words(phrase) <= _words(text)


@lru_cache(maxsize=4096)
def _lowered(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(v.strip().lower() for v in values)


def meets(item: Item, goal: dict[str, list[str]]) -> bool:
    """Whether ``item`` meets every key of ``goal`` with one of that key's alternatives."""
    for key, allowed in goal.items():
        if key == "title_has":
            ok = any(_has_words(item.title, phrase) for phrase in allowed)
        elif key == "category_has":
            ok = any(_has_words(item.category, phrase) for phrase in allowed)
        else:
            value = item.category if key == "category" else item.attributes.get(key)
            ok = value is not None and str(value).strip().lower() in _lowered(tuple(allowed))
        if not ok:
            return False
    return True


class ShoppingTask(BaseModel):
    """One line of a task file (see the module docstring)."""

    model_config = {"extra": "forbid"}

    id: str = Field(min_length=1, max_length=80)
    catalog: str = Field(min_length=1)
    kind: Kind
    turns: list[str] = Field(min_length=1)
    goal: dict[str, list[str]] = Field(min_length=1)
    min_items: int | None = Field(default=None, ge=1)
    anchor: dict[str, list[str]] | None = None
    min_fit: float | None = Field(default=None, gt=0, le=1)
    photo: str | None = None

    @model_validator(mode="after")
    def _kind_needs(self) -> "ShoppingTask":
        if any(not turn.strip() for turn in self.turns):
            raise ValueError("a turn is empty")
        if any(not values or not all(isinstance(v, str) and v.strip() for v in values) for values in self.goal.values()):
            raise ValueError("every goal key needs at least one non-empty alternative")
        if (self.kind == "complement") != (self.anchor is not None):
            raise ValueError("a complement task, and only a complement task, has an anchor")
        if (self.kind == "photo") != (self.photo is not None):
            raise ValueError("a photo task, and only a photo task, has a photo")
        if self.min_fit is not None and self.kind != "plan":
            raise ValueError("min_fit belongs to plan tasks")
        if self.kind == "plan" and len(self.turns) != 1:
            raise ValueError("a plan task has one turn")
        return self

    @property
    def needed(self) -> int:
        """Basket items that must meet the goal."""
        return self.min_items or (3 if self.kind == "plan" else 1)

    @property
    def fit(self) -> float:
        """The share of a plan's basket that must meet the goal."""
        return self.min_fit if self.min_fit is not None else 0.7


# The public task file (issue 33): written before the assistant ran on it; `make bench` reports on it.
PUBLIC_TASKS = Path(__file__).resolve().parents[2] / "tests" / "data" / "shopping_tasks.jsonl"


def load_tasks(path: str | Path) -> tuple[list[ShoppingTask], list[str]]:
    """The tasks of a file and, for every line that is not a task, ``"line N: why"`` (those lines are skipped).

    A file that cannot be read at all is a :class:`BadInput`; a repeated id is reported on its second line.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"cannot read the task file {path}: {error}") from error
    tasks, problems, seen = [], [], set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            task = ShoppingTask.model_validate(json.loads(line))
        except json.JSONDecodeError as error:
            problems.append(f"line {number}: not JSON ({error.msg})")
            continue
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            problems.append(f"line {number}: {where + ': ' if where else ''}{first['msg']}")
            continue
        if task.id in seen:
            problems.append(f"line {number}: the id {task.id!r} is used twice")
            continue
        seen.add(task.id)
        tasks.append(task)
    return tasks, problems
