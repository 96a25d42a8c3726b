"""LightGCN (He et al., SIGIR 2020) on the user-bundle graph, with torch-geometric's ``LightGCN``.

Users and bundles are one node set (bundle ids shifted by the number of users). With the symmetric
normalized adjacency Â = D⁻¹ᐟ² A D⁻¹ᐟ² of the train graph and layer weights α_l = 1/(L+1):

    E⁽ˡ⁺¹⁾ = Â E⁽ˡ⁾,   E = Σ_l α_l E⁽ˡ⁾,   score(u, b) = e_uᵀ e_b
    loss = BPR(score(u, b⁺), score(u, b⁻)) + λ ‖E⁽⁰⁾_batch‖²     (PyG's ``recommendation_loss``)

Args:
    data: the bundle graph (train user-bundle edges only).
    embedding_dim: size of E⁽⁰⁾ (default 64).
    num_layers: propagation layers L (default 2).
    l2: λ, the embedding regularisation (default 1e-4).
"""

from __future__ import annotations

import torch
from torch_geometric.data import HeteroData
from torch_geometric.nn.models import LightGCN
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import to_torch_csr_tensor, to_undirected

from kit.bundles.data import UB


class LightGCNRecommender(torch.nn.Module):
    trainable = True

    def __init__(self, data: HeteroData, embedding_dim: int = 64, num_layers: int = 2, l2: float = 1e-4, **_: object) -> None:
        super().__init__()
        self.num_users, self.num_bundles = data["user"].num_nodes, data["bundle"].num_nodes
        users, bundles = data[UB].edge_index
        num_nodes = self.num_users + self.num_bundles
        edge_index = to_undirected(torch.stack([users, bundles + self.num_users]), num_nodes=num_nodes)
        edge_index, weight = gcn_norm(edge_index, None, num_nodes, add_self_loops=False)
        # normalized once; a sparse CSR adjacency sends PyG's LGConv down its sparse-matmul path
        self.edge_index = to_torch_csr_tensor(edge_index, weight, size=(num_nodes, num_nodes))
        self.model = LightGCN(num_nodes, embedding_dim, num_layers, normalize=False)
        self.l2 = l2

    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(user embeddings, bundle embeddings) after propagation."""
        out = self.model.get_embedding(self.edge_index)
        return out[: self.num_users], out[self.num_users:]

    def loss(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor, epoch: int = 0) -> torch.Tensor:
        user_emb, bundle_emb = self.embeddings()
        pos = (user_emb[users] * bundle_emb[positives]).sum(-1)
        neg = (user_emb[users] * bundle_emb[negatives]).sum(-1)
        nodes = torch.cat([users, positives + self.num_users, negatives + self.num_users]).unique()
        return self.model.recommendation_loss(pos, neg, node_id=nodes, lambda_reg=self.l2)

    @torch.no_grad()
    def score(self, users: torch.Tensor) -> torch.Tensor:
        user_emb, bundle_emb = self.embeddings()
        return user_emb[users] @ bundle_emb.T
