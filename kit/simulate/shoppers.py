"""Simulated shoppers built from real purchase histories (Amazon Scientific sequences; Youshu bundle choices, see
datasets.py).

Each shopper is one real test user: the purchases before their held-out next item (oldest first), a short
profile that an LLM agent reads, and the popular items they never bought. The data has no impressions, so
"passed over" is a proxy for what they skip: the most bought items of the shop that this user did not buy.
The held-out item stays with the shopper only so that validation can check the simulator against it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from kit.errors import BadInput
from kit.sequences import SequenceData


def short_title(text: str, limit: int = 70) -> str:
    """The first sentence of an item text (its title), cut to ``limit`` characters."""
    title = text.split(". ")[0].strip()
    return title if len(title) <= limit else title[:limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Shopper:
    user: int
    history: tuple[int, ...]  # purchases before the held-out one, oldest first
    next_item: int  # the real held-out next purchase (read by validation only)
    passed_over: tuple[int, ...]  # popular items this user never bought
    profile: str  # what the LLM agent is told about itself


def describe(history: tuple[int, ...], passed_over: tuple[int, ...], texts: list[str], recent: int = 3) -> str:
    lines = [f"You have bought {len(history)} items from this shop. Most recent first:"]
    lines += [f"- {short_title(texts[i], 50)}" for i in reversed(history[-recent:])]
    if passed_over:
        lines.append("Popular items you have seen and never bought:")
        lines += [f"- {short_title(texts[i], 50)}" for i in passed_over]
    return "\n".join(lines)


def build_shoppers(data: SequenceData, n: int, split: str = "test", seed: int = 0, max_history: int = 20,
                   passed_over: int = 1) -> list[Shopper]:
    """``n`` shoppers from distinct users of ``split``, sampled with ``seed``."""
    if n < 1:
        raise BadInput(f"the number of shoppers must be at least 1, got {n}")
    if split not in data.splits:
        raise BadInput(f"unknown split {split!r}; choose one of {sorted(data.splits)}")
    examples = random.Random(seed).sample(data.splits[split], min(n, len(data.splits[split])))
    popular = [item for item, _ in data.popularity("train").most_common(50)]
    shoppers = []
    for example in examples:
        history = example.history[-max_history:]
        skipped = tuple([i for i in popular if i not in set(example.history)][:passed_over])
        shoppers.append(Shopper(example.user, history, example.target, skipped,
                                describe(history, skipped, data.texts)))
    return shoppers
