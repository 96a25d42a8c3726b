"""The non-LLM baseline: a conditional logit over how similar each shown item is to the shopper's history.

McFadden's conditional logit gives item i on a page the utility u_i = w · f_i, and the option of choosing
nothing the utility b; the shopper picks i with probability exp(u_i) / (exp(b) + sum_j exp(u_j)). The features
f_i are the item's cosine similarity to the mean of the last five purchases, its highest similarity to any
purchase, and its log popularity in train (scaled to [0, 1]). w and b are fitted by maximum likelihood on
train purchases: pages of ``page_size`` items sampled from the shop, half of them holding the user's real next
purchase (the choice) and half not (the choice is to leave). So the model learns when a page is worth a click,
not only which item is. A chosen item goes to the basket when its probability is at least ``basket_threshold``
(a confident choice), else it is a click; this model never skips.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

from kit.errors import BadInput
from kit.sequences import SequenceData, sample_unseen
from kit.simulate.decisions import Decision
from kit.simulate.shoppers import Shopper, short_title

FEATURES = ("similarity to recent purchases", "highest similarity to a purchase", "log popularity")


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)


@dataclass
class ChoiceModelShopper:
    unit: np.ndarray  # (num_items, dim) unit item vectors
    popularity: np.ndarray  # (num_items,) log(1 + train count) / log(1 + max count)
    texts: list[str]
    weights: np.ndarray = field(default_factory=lambda: np.array([8.0, 4.0, 1.0]))
    leave_utility: float = 6.0
    basket_threshold: float = 0.5
    seed: int = 0
    name: str = "choice"

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)

    @classmethod
    def fit(cls, data: SequenceData, vectors: np.ndarray, page_size: int = 10, pages: int = 4000, seed: int = 0,
            basket_threshold: float = 0.5) -> "ChoiceModelShopper":
        """Fit w and b on ``pages`` pages built from train purchases (see the module docstring)."""
        if page_size < 2:
            raise BadInput(f"a page needs at least 2 items, got {page_size}")
        counts = np.zeros(len(vectors))
        for item, count in data.popularity("train").items():
            counts[item] = count
        model = cls(_unit(vectors), np.log1p(counts) / np.log1p(counts.max()), data.texts,
                    basket_threshold=basket_threshold, seed=seed)
        rng = random.Random(seed)
        examples = rng.sample(data.splits["train"], min(pages, len(data.splits["train"])))
        features, labels = [], []
        for n, example in enumerate(examples):
            page = sample_unseen(rng, len(vectors), set(example.history) | {example.target}, page_size)
            if n % 2 == 0:  # half the pages hold the real next purchase
                position = rng.randrange(page_size)
                page[position] = example.target
                labels.append(position)
            else:
                labels.append(page_size)  # the outside option: leave
            features.append(model.features(example.history, page))
        model.weights, model.leave_utility = _fit_logit(np.stack(features), np.array(labels))
        return model

    def features(self, history: tuple[int, ...], page: list[int]) -> np.ndarray:
        """(len(page), 3) features of each shown item for this history (see FEATURES)."""
        recent = self.unit[list(history[-5:])].mean(axis=0)
        recent /= max(float(np.linalg.norm(recent)), 1e-12)
        shown = self.unit[page]
        return np.stack([shown @ recent, (shown @ self.unit[list(history)].T).max(axis=1),
                         self.popularity[page]], axis=1)

    def probabilities(self, shopper: Shopper, page: list[int]) -> np.ndarray:
        """P(choose each item) followed by P(leave); sums to 1."""
        logits = np.append(self.features(shopper.history, page) @ self.weights, self.leave_utility)
        return np.exp(logits - logsumexp(logits))

    def decide(self, shopper: Shopper, page: list[int]) -> Decision:
        if not page:
            raise BadInput("the page is empty")
        p = self.probabilities(shopper, page)
        choice = int(self._rng.choice(len(p), p=p))
        if choice == len(page):
            return Decision(action="leave", reason=f"nothing here is like what I buy (P(leave) = {p[-1]:.2f})")
        item = page[choice]
        nearest = max(shopper.history, key=lambda h: float(self.unit[h] @ self.unit[item]))
        similarity = float(self.unit[nearest] @ self.unit[item])
        action = "basket" if p[choice] >= self.basket_threshold else "click"
        return Decision(action=action, item=item,
                        reason=f"close to '{short_title(self.texts[nearest], 50)}' that I bought "
                               f"(cosine {similarity:.2f}, P = {p[choice]:.2f})")


def _fit_logit(features: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    """Maximum-likelihood w (features.shape[-1],) and b for pages ``features`` (M, K, F); label K = leave."""
    m, k, f = features.shape

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:f], theta[f]
        logits = np.concatenate([features @ w, np.full((m, 1), b)], axis=1)  # (M, K + 1)
        log_p = logits - logsumexp(logits, axis=1, keepdims=True)
        p = np.exp(log_p)
        chosen = np.zeros_like(p)
        chosen[np.arange(m), labels] = 1.0
        residual = p - chosen  # d(-log p_label)/d logits
        grad_w = np.einsum("mk,mkf->f", residual[:, :k], features)
        grad_b = residual[:, k].sum()
        return float(-log_p[np.arange(m), labels].sum() / m), np.append(grad_w, grad_b) / m

    result = minimize(loss, np.zeros(f + 1), jac=True, method="L-BFGS-B")
    return result.x[:f], float(result.x[f])
