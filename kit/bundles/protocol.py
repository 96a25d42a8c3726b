"""The evaluation protocol of BGCN, CrossCBR and BundleGT, with the shared metric functions.

For every user who has at least one bundle in the evaluated split: score ALL bundles, exclude the
user's train bundles (their score becomes -inf), take the top K and compute Recall@K and NDCG@K
(kit.eval) against that user's bundles in the split; report the mean over those users. Users with no
train bundles are evaluated like everyone else (a model must then rely on its other signals); Youshu
has none, and the count is in ``kit.bundles.data.summary``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

import torch
from torch_geometric.data import HeteroData

from kit.bundles.data import UB
from kit.eval import ndcg_at_k, recall_at_k
from kit.errors import BadInput

ScoreFn = Callable[[torch.Tensor], torch.Tensor]  # user ids (U,) -> scores (U, num_bundles)


def _by_user(edge_index: torch.Tensor) -> dict[int, list[int]]:
    grouped: dict[int, list[int]] = defaultdict(list)
    for user, bundle in edge_index.t().tolist():
        grouped[user].append(bundle)
    return grouped


@torch.no_grad()
def evaluate_ranking(score: ScoreFn, data: HeteroData, split: str = "test", ks: tuple[int, ...] = (20, 40),
                     batch_size: int = 1024, only_bundles: set[int] | None = None) -> dict[str, float]:
    """Mean Recall@K and NDCG@K over the users of ``split``.

    ``only_bundles`` is the cold-start protocol: only these bundles are candidates and only they count
    as relevant (new bundles are ranked among the new bundles, as in cold-start item recommendation).
    """
    if split not in ("tune", "test"):
        raise BadInput(f"split must be tune or test, got {split!r}")
    relevant = _by_user(data[UB][f"{split}_edge_index"])
    if only_bundles is not None:
        relevant = {u: [b for b in bs if b in only_bundles] for u, bs in relevant.items()}
        relevant = {u: bs for u, bs in relevant.items() if bs}
    train = _by_user(data[UB].edge_index)
    users = sorted(relevant)
    if not users:
        raise BadInput(f"no user has a relevant bundle in the {split} split")
    totals = {f"{metric}@{k}": 0.0 for k in ks for metric in ("recall", "ndcg")}
    top = max(ks) if only_bundles is None else min(max(ks), len(only_bundles))
    for start in range(0, len(users), batch_size):
        batch = users[start:start + batch_size]
        scores = score(torch.tensor(batch)).float().clone()
        rows = [i for i, u in enumerate(batch) for _ in train.get(u, [])]
        cols = [b for u in batch for b in train.get(u, [])]
        scores[rows, cols] = -torch.inf
        if only_bundles is not None:
            outside = torch.ones(scores.shape[1], dtype=torch.bool)
            outside[list(only_bundles)] = False
            scores[:, outside] = -torch.inf
        ranked = scores.topk(top, dim=1).indices.tolist()
        for user, ranking in zip(batch, ranked):
            for k in ks:
                totals[f"recall@{k}"] += recall_at_k(ranking, relevant[user], k)
                totals[f"ndcg@{k}"] += ndcg_at_k(ranking, relevant[user], k)
    return {name: value / len(users) for name, value in totals.items()} | {"users": len(users)}
