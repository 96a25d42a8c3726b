"""Most popular bundles: the baseline every bundle model must beat.

    score(u, b) = |{u' : (u', b) ∈ R_train}|     (the same ranking for every user)
"""

from __future__ import annotations

import torch
from torch_geometric.data import HeteroData

from kit.bundles.data import UB


class Popularity:

    def __init__(self, data: HeteroData, **_: object) -> None:
        counts = torch.bincount(data[UB].edge_index[1], minlength=data["bundle"].num_nodes).float()
        self.counts = counts

    def score(self, users: torch.Tensor) -> torch.Tensor:
        return self.counts.expand(len(users), -1)
