"""LightGCN (He et al., SIGIR 2020) on a user-target bipartite graph, with torch-geometric's ``LightGCN``.

One model serves both graphs the kit learns from: users and the bundles they took (bundle recommendation,
:class:`LightGCNRecommender`) and users and the items they bought (basket completion,
kit/bundles/copurchase.py). Users and targets are one node set (target ids shifted by the number of
users). With the symmetric normalized adjacency Â = D⁻¹ᐟ² A D⁻¹ᐟ² of the train graph and layer weights
α_l = 1/(L+1):

    E⁽ˡ⁺¹⁾ = Â E⁽ˡ⁾,   E = Σ_l α_l E⁽ˡ⁾,   score(u, t) = e_uᵀ e_t
    loss = BPR(score(u, t⁺), score(u, t⁻)) + λ ‖E⁽⁰⁾_batch‖²     (PyG's ``recommendation_loss``)

Args:
    users, targets: the train edges, as two aligned id tensors (user u took target t).
    num_users, num_targets: the node counts of the two sides.
    embedding_dim: size of E⁽⁰⁾ (default 64).
    num_layers: propagation layers L (default 2).
    l2: λ, the embedding regularisation (default 1e-4), inside the loss (so Adam has no weight decay).
    lr: Adam's learning rate (default 1e-3).
"""

from __future__ import annotations

import torch
from torch_geometric.data import HeteroData
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.nn.models import LightGCN
from torch_geometric.utils import to_torch_csr_tensor, to_undirected

from kit.bundles.data import UB, BPRBatch
from kit.training import Trainable


class BipartiteLightGCN(Trainable):
    def __init__(self, users: torch.Tensor, targets: torch.Tensor, num_users: int, num_targets: int,
                 embedding_dim: int = 64, num_layers: int = 2, l2: float = 1e-4, lr: float = 1e-3) -> None:
        super().__init__()
        self.num_users, self.num_targets, self.l2, self.lr = num_users, num_targets, l2, lr
        num_nodes = num_users + num_targets
        edge_index = to_undirected(torch.stack([users, targets + num_users]), num_nodes=num_nodes)
        edge_index, weight = gcn_norm(edge_index, None, num_nodes, add_self_loops=False)
        # normalized once; a sparse CSR adjacency sends PyG's LGConv down its sparse-matmul path
        self.adjacency = to_torch_csr_tensor(edge_index, weight, size=(num_nodes, num_nodes))
        self.model = LightGCN(num_nodes, embedding_dim, num_layers, normalize=False)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)

    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(user embeddings, target embeddings) after propagation."""
        out = self.model.get_embedding(self.adjacency)
        return out[: self.num_users], out[self.num_users:]

    def loss(self, batch: BPRBatch) -> torch.Tensor:
        users, positives, negatives = batch
        user_emb, target_emb = self.embeddings()
        pos = (user_emb[users] * target_emb[positives]).sum(-1)
        neg = (user_emb[users] * target_emb[negatives]).sum(-1)
        nodes = torch.cat([users, positives + self.num_users, negatives + self.num_users]).unique()
        return self.model.recommendation_loss(pos, neg, node_id=nodes, lambda_reg=self.l2)

    @torch.no_grad()
    def score(self, users: torch.Tensor) -> torch.Tensor:
        user_emb, target_emb = self.embeddings()
        return user_emb[users] @ target_emb.T


class LightGCNRecommender(BipartiteLightGCN):
    """LightGCN on the user-bundle graph (train user-bundle edges only)."""

    def __init__(self, data: HeteroData, embedding_dim: int = 64, num_layers: int = 2, l2: float = 1e-4,
                 lr: float = 1e-3, **_: object) -> None:
        users, bundles = data[UB].edge_index
        super().__init__(users, bundles, data["user"].num_nodes, data["bundle"].num_nodes, embedding_dim, num_layers,
                         l2, lr)
