"""Cold bundles: hold out a set of bundles from training entirely and see who can still recommend them.

``cold_bundle_split`` picks bundles that appear in the test split and removes every train and tune
user-bundle edge they have; their items (bundle-item edges) stay, as a new bundle's content would.
A model then ranks the cold bundles for the test users of those bundles (the cold-start protocol:
new bundles among the new bundles, ``evaluate_ranking(..., only_bundles=cold)``). LightGCN has nothing to go on for them;
CrossCBR's item view builds b^I from the bundle's items.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch_geometric.data import HeteroData

from kit.bundles.data import UB


def cold_bundle_split(data: HeteroData, fraction: float = 0.1, seed: int = 0) -> tuple[HeteroData, set[int]]:
    rng = np.random.default_rng(seed)
    test_bundles = np.unique(data[UB].test_edge_index[1].numpy())
    cold = set(rng.choice(test_bundles, size=max(1, int(len(test_bundles) * fraction)), replace=False).tolist())
    cold_tensor = torch.tensor(sorted(cold))
    warm = copy.copy(data)
    warm[UB].edge_index = data[UB].edge_index[:, ~torch.isin(data[UB].edge_index[1], cold_tensor)]
    warm[UB].tune_edge_index = data[UB].tune_edge_index[:, ~torch.isin(data[UB].tune_edge_index[1], cold_tensor)]
    return warm, cold
