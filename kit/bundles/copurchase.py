"""Basket completion from real co-purchases: LightGCN (He et al., SIGIR 2020) on a shop's user-item graph
(:class:`kit.bundles.models.lightgcn.BipartiteLightGCN`, the model bundle recommendation uses on users and bundles).

The graph comes from purchase sequences (Amazon Scientific's train split: every item a user bought
before their held-out last two). Users and items are one node set (item ids shifted by the number of
users). With the symmetric normalized adjacency Â = D⁻¹ᐟ² A D⁻¹ᐟ² and layer weights α_l = 1/(L+1):

    E⁽ˡ⁺¹⁾ = Â E⁽ˡ⁾,   E = Σ_l α_l E⁽ˡ⁾
    loss = BPR(e_uᵀ e_i⁺, e_uᵀ e_i⁻) + λ ‖E⁽⁰⁾_batch‖²          (PyG's ``recommendation_loss``)

A partial basket S is completed by the items closest to the basket's centre in that space,
score(i) = e_iᵀ mean_{j∈S} e_j, never an item of S. Items with no purchase in the graph are *cold*:
the model has learned nothing for them, and :meth:`CoPurchaseCompleter.complete` says so (the caller
falls back to content embeddings). Every suggestion carries its evidence, taken from the same graph:
the basket item it was most often bought with, and how many shoppers bought both.

    >>> completer = CoPurchaseCompleter.from_sequences(load_amazon_scientific())
    >>> completer.fit(epochs=40)
    >>> completer.complete([12, 40], k=5)     # [Suggestion(item=..., score=..., bought_with=..., shoppers=...)]

Args:
    user_items: for every user, the items they bought (the train graph).
    num_items: the number of items (ids 0..num_items-1).
    embedding_dim: size of E⁽⁰⁾ (default 64).
    num_layers: propagation layers L (default 2).
    l2: λ, the embedding regularisation (default 1e-4).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from kit import training
from kit.bundles.data import BPRBatch
from kit.bundles.models.lightgcn import BipartiteLightGCN
from kit.errors import BadInput, KitError
from kit.files import written_atomically
from kit.sequences import SequenceData


@dataclass(frozen=True)
class Suggestion:
    item: int
    score: float
    bought_with: int | None  # the basket item this one was bought with most often (None: only 2+ hops away)
    shoppers: int  # how many shoppers in the graph bought both


@dataclass
class CopurchaseTrainConfig:
    epochs: int = 40
    batch_size: int = 2048
    lr: float = 5e-3
    seed: int = 0


def train_user_items(data: SequenceData) -> list[set[int]]:
    """Each user's items from the train split (histories and targets), i.e. all but the valid and test items."""
    users: dict[int, set[int]] = {}
    for example in data.splits["train"]:
        users.setdefault(example.user, set()).update(example.history + (example.target,))
    return [users[u] for u in sorted(users)]


class CoPurchaseCompleter(BipartiteLightGCN):
    name = "lightgcn-copurchase"

    def __init__(self, user_items: list[set[int]], num_items: int, embedding_dim: int = 64, num_layers: int = 2,
                 l2: float = 1e-4) -> None:
        if not user_items:
            raise BadInput("the co-purchase graph needs at least one user with purchases")
        users = np.fromiter((u for u, items in enumerate(user_items) for _ in items), dtype=np.int64)
        items = np.fromiter((i for bought in user_items for i in bought), dtype=np.int64)
        if items.size and (items.min() < 0 or items.max() >= num_items):
            raise BadInput(f"item ids must be within 0..{num_items - 1}")
        edges = torch.from_numpy(np.stack([users, items]))  # (2, E) user -> item, train purchases
        super().__init__(edges[0], edges[1], len(user_items), num_items, embedding_dim, num_layers, l2,
                         lr=CopurchaseTrainConfig.lr)
        self.num_items, self.edges = num_items, edges
        bought = sp.csr_matrix((np.ones(len(items), np.float32), (users, items)), shape=(self.num_users, num_items))
        bought.data[:] = 1.0
        self.copurchases = (bought.T @ bought).tocsr()  # (I, I): shoppers who bought both
        self.copurchases.setdiag(0)
        self.copurchases.eliminate_zeros()
        self.degree = np.asarray(bought.sum(axis=0)).ravel().astype(int)  # shoppers per item
        self._items: torch.Tensor | None = None  # propagated item embeddings, cached after training

    @classmethod
    def from_sequences(cls, data: SequenceData, **kwargs: object) -> "CoPurchaseCompleter":
        return cls(train_user_items(data), data.num_items, **kwargs)

    # -- training (kit.training.fit; the loss and optimizer are BipartiteLightGCN's) -------------------
    def fit(self, config: CopurchaseTrainConfig | None = None, progress: bool = True) -> list[float]:
        """BPR over the train purchases, one uniform negative item each; returns the mean loss per epoch."""
        config = config or CopurchaseTrainConfig()
        generator = torch.Generator().manual_seed(config.seed)
        self.lr = config.lr

        def batches(epoch: int) -> Iterator[BPRBatch]:
            order = torch.randperm(self.edges.shape[1], generator=generator)
            for start in range(0, len(order), config.batch_size):
                users, items = self.edges[:, order[start:start + config.batch_size]]
                yield BPRBatch(users, items, torch.randint(0, self.num_items, (len(items),), generator=generator))

        result = training.fit(self, batches, epochs=config.epochs, rngs=(generator,),
                              desc="training the co-purchase graph model", progress=progress)
        self._items = None
        return result.losses

    # -- completion ----------------------------------------------------------------------------------
    @torch.no_grad()
    def item_embeddings(self) -> torch.Tensor:
        if self._items is None:
            self._items = self.model.get_embedding(self.adjacency)[self.num_users:]
        return self._items

    def is_cold(self, item: int) -> bool:
        """True for an item nobody in the graph bought: the model knows nothing about it."""
        return not 0 <= item < self.num_items or self.degree[item] == 0

    def scores(self, basket: list[int]) -> np.ndarray:
        known = [i for i in set(basket) if not self.is_cold(i)]
        if not known:
            raise BadInput("none of the basket's items has co-purchases in the graph (all are cold)")
        items = self.item_embeddings()
        score = (items @ items[known].mean(0)).numpy().astype(np.float64)
        score[[i for i in set(basket) if 0 <= i < self.num_items]] = -np.inf
        return score

    def complete(self, basket: list[int], k: int = 10) -> list[Suggestion]:
        """The k best items to add to ``basket`` (item ids), each with the co-purchase evidence behind it."""
        score = self.scores(basket)
        known = [i for i in set(basket) if not self.is_cold(i)]
        out = []
        for item in np.argsort(-score, kind="stable")[:k]:
            together = np.asarray(self.copurchases[known][:, item].todense()).ravel()
            best = int(np.argmax(together))
            out.append(Suggestion(int(item), float(score[item]), known[best] if together[best] > 0 else None,
                                  int(together[best])))
        return out

    # -- persistence ---------------------------------------------------------------------------------
    def save(self, path: str | Path, config: CopurchaseTrainConfig, seconds: float) -> Path:
        """safetensors with the graph's size and the training settings in its metadata; written, then renamed."""
        from safetensors.torch import save_file

        meta = {"num_users": str(self.num_users), "num_items": str(self.num_items), "seconds": f"{seconds:.1f}",
                "config": json.dumps(asdict(config))}
        with written_atomically(path) as tmp:
            save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(tmp), metadata=meta)
        return Path(path)

    def load(self, path: str | Path) -> "CoPurchaseCompleter":
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt") as handle:
                meta = handle.metadata() or {}
                state = {key: handle.get_tensor(key) for key in handle.keys()}
            if (meta.get("num_users"), meta.get("num_items")) != (str(self.num_users), str(self.num_items)):
                raise KitError(f"{path} was trained on another graph; delete it to retrain")
            self.load_state_dict(state)
        except (SafetensorError, RuntimeError, OSError) as error:
            raise KitError(f"cannot read the co-purchase checkpoint {path} ({error}); delete it to retrain") from error
        self.eval()
        self._items = None
        return self


def trained_completer(data: SequenceData, cache: Path, config: CopurchaseTrainConfig | None = None,
                      progress: bool = True) -> CoPurchaseCompleter:
    """The completer for ``data``, loaded from ``cache`` or trained once (about a minute on 2 cores) and saved."""
    config = config or CopurchaseTrainConfig()
    torch.manual_seed(config.seed)
    completer = CoPurchaseCompleter.from_sequences(data)
    if cache.is_file():
        try:
            return completer.load(cache)
        except KitError:
            cache.unlink(missing_ok=True)  # corrupt or stale: rebuilt below
    started = time.perf_counter()
    completer.fit(config, progress)
    completer.save(cache, config, time.perf_counter() - started)
    return completer





# -- evaluation ------------------------------------------------------------------------------------
def held_out_baskets(data: SequenceData, n: int | None = None, basket_size: int = 5, seed: int = 0,
                     split: str = "test") -> list[tuple[list[int], int]]:
    """(partial basket, held-out item) pairs: a user's last ``basket_size`` items before the split's target,
    and the target itself, which the train graph never saw for that user. Users whose target is already in
    the basket are skipped (a repeat purchase is not a completion)."""
    rng = np.random.default_rng(seed)
    examples = list(data.splits[split])
    order = rng.permutation(len(examples))
    out = []
    for index in order:
        example = examples[index]
        basket = list(dict.fromkeys(example.history[-basket_size:]))
        if example.target in basket:
            continue
        out.append((basket, example.target))
        if n is not None and len(out) == n:
            break
    return out


def hit_rate(rank, baskets: list[tuple[list[int], int]], k: int = 10) -> float:
    """Share of baskets whose held-out item is among ``rank(basket, k)``'s k items."""
    if not baskets:
        raise BadInput("no baskets to evaluate")
    return float(np.mean([target in rank(basket, k) for basket, target in baskets]))

__all__ = ["CoPurchaseCompleter", "CopurchaseTrainConfig", "Suggestion", "held_out_baskets", "hit_rate", "train_user_items",
           "trained_completer"]
