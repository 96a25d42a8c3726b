"""The tasks the chat model learns the shop from: each turns one real purchase into a short (prompt, answer) pair.

One LoRA run trains on a weighted mixture of them (P5 and TALLRec style instruction tuning), so one adapter
recommends in IDs, knows what an ID is called, answers "would this shopper buy X?" and follows a request
in words:

- ``next_item``: purchases as IDs -> the next purchase's ID (scored with Recall@10 by constrained beams);
- ``title_to_id`` / ``id_to_title``: what an ID is called, both ways (so the new tokens mean something);
- ``would_buy``: purchases + a candidate ID -> " Yes" (the real next purchase) or " No" (a random item never
  bought by this shopper); the probability of " Yes" ranks a candidate list (paradigm 3, pointwise);
- ``steered``: purchases + a constraint in words ("by 3M", "in Lab Tapes") -> the next purchase, which
  satisfies it (the constraint is read from that item's own brand or category);
- ``reply``: a request in words -> an answer with the ID and its title inline.

Prompts are plain text and short: on 2 CPU cores every token of an example costs time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from kit.errors import BadInput
from kit.semids.codes import SemanticIds
from kit.sequences import NextItemExample, SequenceData


def spell(ids: SemanticIds, item: int) -> str:
    """An item's semantic ID as the chat model's tokens, one per level."""
    return "".join(f"<|sid_{level}_{code}|>" for level, code in enumerate(ids.semantic_id(item)))


def short_title(text: str, words: int) -> str:
    return " ".join(text.split(".")[0].split()[:words])


@dataclass(frozen=True)
class ItemFacts:
    """Per item (row i is item i): the catalog's brand and category, empty where the catalog has none."""

    brands: Sequence[str]
    categories: Sequence[str]

    @classmethod
    def from_catalog(cls, catalog) -> ItemFacts:
        return cls([item.attributes.get("brand", "") for item in catalog.items],
                   [item.category for item in catalog.items])

    @classmethod
    def none(cls, num_items: int) -> ItemFacts:
        return cls([""] * num_items, [""] * num_items)

    def constraints(self, item: int) -> list[tuple[str, str]]:
        """The constraints ``item`` satisfies, as (kind, value): its brand and its category when known."""
        return [(kind, value) for kind, value in (("brand", self.brands[item]), ("category", self.categories[item]))
                if value]

    def satisfies(self, item: int, kind: str, value: str) -> bool:
        return (self.brands if kind == "brand" else self.categories)[item] == value


@dataclass(frozen=True)
class TaskContext:
    """What every task reads: the IDs, the sequences' texts, the catalog's facts and the prompt lengths."""

    ids: SemanticIds
    data: SequenceData
    facts: ItemFacts
    history_items: int = 5
    title_words: int = 10

    def title(self, item: int) -> str:
        return short_title(self.data.texts[item], self.title_words)

    def purchases(self, history: Sequence[int]) -> str:
        return "Purchases: " + " ".join(spell(self.ids, i) for i in history[-self.history_items:])


Make = Callable[[TaskContext, NextItemExample, np.random.Generator], "tuple[str, str] | None"]


def next_item_prompt(context: TaskContext, history: Sequence[int]) -> str:
    return f"{context.purchases(history)}\nNext:"


def would_buy_prompt(context: TaskContext, history: Sequence[int], candidate: int) -> str:
    return f"{context.purchases(history)}\nBuy {spell(context.ids, candidate)}? Answer:"


CONSTRAINT_WORDS = {"brand": "by", "category": "in"}


def steered_prompt(context: TaskContext, history: Sequence[int], kind: str, value: str) -> str:
    if kind not in CONSTRAINT_WORDS:
        raise BadInput(f"unknown constraint {kind!r}; constraints: {sorted(CONSTRAINT_WORDS)}")
    return f"{context.purchases(history)}\nNext, {CONSTRAINT_WORDS[kind]} {value}:"


def _next_item(context, example, rng):
    return next_item_prompt(context, example.history), spell(context.ids, example.target)


def _title_to_id(context, example, rng):
    return f"ID of: {context.title(example.target)}\nID:", spell(context.ids, example.target)


def _id_to_title(context, example, rng):
    return f"Item {spell(context.ids, example.target)} is:", " " + context.title(example.target)


def _would_buy(context, example, rng):
    if rng.random() < 0.5:
        return would_buy_prompt(context, example.history, example.target), " Yes"
    seen = {*example.history, example.target}
    negative = int(rng.integers(context.data.num_items))
    while negative in seen:
        negative = int(rng.integers(context.data.num_items))
    return would_buy_prompt(context, example.history, negative), " No"


def _steered(context, example, rng):
    options = context.facts.constraints(example.target)
    if not options:
        return None
    kind, value = options[int(rng.integers(len(options)))]
    return steered_prompt(context, example.history, kind, value), spell(context.ids, example.target)


def _reply(context, example, rng):
    last = example.history[-1]
    return (f"I bought {context.title(last)}. Something like my last purchases?\nAnswer:",
            f" Try {spell(context.ids, example.target)} ({context.title(example.target)}).")


@dataclass(frozen=True)
class ItemTask:
    name: str
    make: Make  # None when the example cannot make this task (e.g. no brand or category to steer by)
    what: str


TASKS: dict[str, ItemTask] = {task.name: task for task in (
    ItemTask("next_item", _next_item, "purchases -> the next purchase's ID"),
    ItemTask("title_to_id", _title_to_id, "a title -> its ID"),
    ItemTask("id_to_title", _id_to_title, "an ID -> its title"),
    ItemTask("would_buy", _would_buy, "purchases + a candidate -> Yes (the real next purchase) or No (a random one)"),
    ItemTask("steered", _steered, "purchases + a brand or category in words -> the next purchase, which has it"),
    ItemTask("reply", _reply, "a request in words -> an answer with the ID and title inline"),
)}


def check_mixture(mixture: dict[str, float]) -> None:
    unknown = sorted(set(mixture) - set(TASKS))
    if unknown:
        raise BadInput(f"unknown task(s) {unknown}; tasks: {', '.join(TASKS)}")
    if not mixture or any(w < 0 for w in mixture.values()) or sum(mixture.values()) <= 0:
        raise BadInput(f"task weights must be >= 0 with a positive sum, got {mixture}")


def draw_examples(context: TaskContext, examples: Sequence[NextItemExample], mixture: dict[str, float],
                  rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    """``n`` (prompt, answer) pairs: a purchase and a task drawn for each, tasks in proportion to ``mixture``.
    A task the purchase cannot make (a steered task for an item without brand or category) is drawn again."""
    check_mixture(mixture)
    names = list(mixture)
    weights = np.array([mixture[name] for name in names], dtype=float)
    weights /= weights.sum()
    out: list[tuple[str, str]] = []
    for _ in range(50 * n):
        if len(out) == n:
            break
        example = examples[int(rng.integers(len(examples)))]
        pair = TASKS[names[int(rng.choice(len(names), p=weights))]].make(context, example, rng)
        if pair is not None:
            out.append(pair)
    if len(out) < n:
        raise BadInput(f"the tasks {sorted(k for k, w in mixture.items() if w > 0)} made {len(out)} of {n} examples from "
                       "these purchases: steering needs items with a brand or category (ItemFacts from the catalog)")
    return out
