"""BundleKNN: ItemKNN (Sarwar et al., WWW 2001) with bundles as the items.

Bundles are similar when the same users take them (cosine over the train user-bundle matrix R):

    S = D⁻¹ᐟ² Rᵀ R D⁻¹ᐟ²  with the diagonal zeroed and each column cut to its ``neighbours`` largest,
    score(u, ·) = R_u S

Args:
    data: the bundle graph (only the train user-bundle edges are used).
    neighbours: similar bundles kept per bundle (default 100).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch_geometric.data import HeteroData

from kit.bundles.data import UB


class BundleKNN:

    def __init__(self, data: HeteroData, neighbours: int = 100, **_: object) -> None:
        users, bundles = data[UB].edge_index.numpy()
        shape = (data["user"].num_nodes, data["bundle"].num_nodes)
        self.R = sp.csr_matrix((np.ones(len(users), np.float32), (users, bundles)), shape=shape)
        norms = np.sqrt(np.asarray(self.R.sum(axis=0)).ravel()) + 1e-8
        similarity = (self.R.T @ self.R).toarray() / norms[:, None] / norms[None, :]
        np.fill_diagonal(similarity, 0.0)
        if neighbours < similarity.shape[0]:
            cut = np.partition(similarity, -neighbours, axis=0)[-neighbours]
            similarity[similarity < cut[None, :]] = 0.0
        self.S = sp.csr_matrix(similarity)

    def score(self, users: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy((self.R[users.numpy()] @ self.S).toarray())
