"""The common task: rank 20 candidates (the user's real next item and 19 sampled ones) given a history.

Sampled-candidate ranking is how LLM rankers are usually compared (Hou et al., ECIR 2024); the
absolute numbers are higher than full-catalog ranking and only comparable within this protocol.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Protocol, TypeVar

import numpy as np
from pydantic import BaseModel, Field

from kit.clip.cache import EmbeddingCache, content_key
from kit.clip.towers import TextEncoder, load_text_encoder
from kit.llm.chat import CallLog, ChatModel
from kit.llm.prompting import PromptTemplate, quote_data
from kit.sequences import SequenceData, sample_unseen
from kit.errors import BadInput

Phrase = Annotated[str, Field(min_length=2, max_length=30)]  # a few words: an interest, a search query
T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class RankingCase:
    user: int
    history: tuple[int, ...]  # oldest first, at most ``max_history`` items
    candidates: tuple[int, ...]  # in the order they are presented
    target: int


class Ranker(Protocol):
    name: str

    def rank(self, case: RankingCase) -> list[int]:
        """The case's candidates, best first."""


def build_ranking_cases(data: SequenceData, split: str = "test", n_users: int = 50, n_candidates: int = 20,
                        max_history: int = 10, seed: int = 0) -> list[RankingCase]:
    """``n_users`` sampled examples of ``split``; negatives drawn uniformly from items the user has not seen."""
    if n_candidates < 2:
        raise BadInput("a ranking needs at least 2 candidates")
    rng = random.Random(seed)
    examples = rng.sample(data.splits[split], min(n_users, len(data.splits[split])))
    cases = []
    for ex in examples:
        negatives = sample_unseen(rng, data.num_items, set(ex.history) | {ex.target}, n_candidates - 1)
        candidates = [ex.target, *sorted(negatives)]
        rng.shuffle(candidates)
        cases.append(RankingCase(ex.user, ex.history[-max_history:], tuple(candidates), ex.target))
    return cases


def user_popularity(data: SequenceData, split: str = "train") -> Counter:
    """Number of users who interacted with each item (each user counted once per item)."""
    return data.buyers(split)


class ItemTexts:
    """Item texts and their (cached) text embeddings, shared by the paradigms."""

    def __init__(self, data: SequenceData, encoder: TextEncoder | None = None) -> None:
        self.data = data
        self.encoder = encoder or load_text_encoder("minilm")
        self.cache = EmbeddingCache(f"text-{self.encoder.name}")

    def text(self, item: int) -> str:
        return self.data.texts[item]

    def vectors(self, items: list[int] | tuple[int, ...]) -> np.ndarray:
        texts = [self.data.texts[i] for i in items]
        return self.cache.embed([content_key(t) for t in texts], texts, self.encoder.encode)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts, kind="query")


def history_block(texts: ItemTexts, history: tuple[int, ...], limit: int = 90) -> str:
    """The purchases as quoted lines, ready for a prompt's data block."""
    return "\n".join(f"- {quote_data(texts.text(i), limit)}" for i in history)


def ask_about_history(llm: ChatModel, template: PromptTemplate, schema: type[T], texts: ItemTexts,
                      history: tuple[int, ...], log: CallLog) -> T:
    """One schema-constrained call whose prompt is ``template`` filled with the user's purchases."""
    messages = template.render(history=history_block(texts, history))
    return llm.structured(messages, schema, log=log, purpose=template.id, max_new_tokens=192)


class RandomRanker:
    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def rank(self, case: RankingCase) -> list[int]:
        order = list(case.candidates)
        self.rng.shuffle(order)
        return order


class PopularityRanker:
    name = "popularity"

    def __init__(self, popularity: Counter) -> None:
        self.popularity = popularity

    def rank(self, case: RankingCase) -> list[int]:
        return sorted(case.candidates, key=lambda i: -self.popularity[i])
