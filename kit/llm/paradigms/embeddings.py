"""Paradigm 1, LLM embeddings + recommender: a content kNN recommender over text embeddings.

    user = sum_i w_i * e(history_i),  w_i = decay ** (n - 1 - i)     (recent items weigh more)
    score(c) = cos(user, e(c))
"""

from __future__ import annotations

import numpy as np

from kit.llm.paradigms.task import ItemTexts, RankingCase


class EmbeddingRecommender:
    name = "1 embeddings + kNN"

    def __init__(self, texts: ItemTexts, decay: float = 0.8) -> None:
        self.texts, self.decay = texts, decay

    def user_vector(self, history: tuple[int, ...]) -> np.ndarray:
        vectors = self.texts.vectors(history)
        weights = self.decay ** np.arange(len(history))[::-1]
        user = (weights[:, None] * vectors).sum(0)
        return user / (np.linalg.norm(user) + 1e-12)

    def scores(self, case: RankingCase) -> np.ndarray:
        return self.texts.vectors(case.candidates) @ self.user_vector(case.history)

    def rank(self, case: RankingCase) -> list[int]:
        order = np.argsort(-self.scores(case), kind="stable")
        return [case.candidates[i] for i in order]
