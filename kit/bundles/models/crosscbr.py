"""CrossCBR (Ma et al., "CrossCBR: Cross-view Contrastive Learning for Bundle Recommendation", KDD 2022).

Two views of every user and bundle, each propagated with LightGCN layers over a sparse graph (PyG
``LGConv`` message passing, symmetric normalization recomputed after edge dropout):

- bundle view (B): the user-bundle graph gives u^B and b^B;
- item view (I): the user-item graph gives u^I and item embeddings e_i^I; a bundle's item-view
  embedding is the mean of its items, b^I = mean_{i ∈ b} e_i^I (a row-normalized sparse bundle-item matrix).

Propagation, as in the paper's code: X⁽ˡ⁺¹⁾ = Â X⁽ˡ⁾ / (l + 2), X = X⁽⁰⁾ + Σ_{l≥1} normalize(X⁽ˡ⁾).

    score(u, b)  = u^Iᵀ b^I + u^Bᵀ b^B
    L_BPR        = -log σ(score(u, b⁺) - score(u, b⁻))
    L_C          = ½ [InfoNCE_τ(u^I, u^B) + InfoNCE_τ(b^I, b^B)]      (in-batch negatives)
    L            = L_BPR + λ₁ L_C     (+ λ₂ ‖Θ‖² as the optimizer's weight decay)

A bundle with no users still has b^I from its items, and at inference its b^B becomes the
overlap-weighted mean b^B of the warm bundles that share its items (:meth:`_fill_cold`), so cold
bundles can be recommended; an item no user touched takes the mean of its bundles' b^B.

Args:
    data: the bundle graph (train user-bundle, user-item, bundle-item edges).
    embedding_dim: 64 in the paper. num_layers: 1 for Youshu. c_lambda (λ₁): 0.04. c_temp (τ): 0.25.
    edge_dropout: 0.2, the "ED" augmentation, a new draw every epoch for all three graphs.
    lr: Adam's learning rate, 1e-3. l2 (λ₂): 1e-4, Adam's weight decay.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch_geometric.data import HeteroData
from torch_geometric.nn import LGConv
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import scatter, to_torch_csr_tensor

from kit.bundles.data import BI, UB, UI, BPRBatch
from kit.training import Trainable


def _forward_edges(src: torch.Tensor, dst: torch.Tensor, num_src: int) -> torch.Tensor:
    """Unique (source, target + num_src) pairs: one direction of a bipartite graph in one node set."""
    return torch.stack([src, dst + num_src]).unique(dim=1)


class CrossCBR(Trainable):

    def __init__(self, data: HeteroData, embedding_dim: int = 64, num_layers: int = 1, c_lambda: float = 0.04,
                 c_temp: float = 0.25, edge_dropout: float = 0.2, lr: float = 1e-3, l2: float = 1e-4,
                 **_: object) -> None:
        super().__init__()
        self.lr, self.l2 = lr, l2
        self.U, self.B, self.I = data["user"].num_nodes, data["bundle"].num_nodes, data["item"].num_nodes
        self.num_layers, self.c_lambda, self.c_temp, self.edge_dropout = num_layers, c_lambda, c_temp, edge_dropout
        self.users = torch.nn.Parameter(torch.empty(self.U, embedding_dim))
        self.bundles = torch.nn.Parameter(torch.empty(self.B, embedding_dim))
        self.items = torch.nn.Parameter(torch.empty(self.I, embedding_dim))
        for weight in (self.users, self.bundles, self.items):
            torch.nn.init.xavier_normal_(weight)
        self.conv = LGConv(normalize=False)  # we pass the normalized weights ourselves
        self.ub_edges = _forward_edges(*data[UB].edge_index, self.U)
        self.ui_edges = _forward_edges(*data[UI].edge_index, self.U)
        self.bi_bundle, self.bi_item = data[BI].edge_index
        self.warm = torch.zeros(self.B, dtype=torch.bool)
        self.warm[data[UB].edge_index[1]] = True
        self.graphs = self._graphs(dropout=0.0)

    # -- graphs -------------------------------------------------------------------------------------
    @staticmethod
    def _normalized(forward: torch.Tensor, num_nodes: int, dropout: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Drop a share of the edges (both directions together), mirror them, then normalize D⁻¹ᐟ² A D⁻¹ᐟ²."""
        if dropout > 0:
            forward = forward[:, torch.rand(forward.shape[1]) >= dropout]
        edge_index = torch.cat([forward, forward.flip(0)], dim=1)
        edge_index, weight = gcn_norm(edge_index, None, num_nodes, add_self_loops=False)
        # A sparse CSR adjacency makes LGConv use its sparse-matmul path (message_and_aggregate),
        # many times faster on CPU than gathering and scattering 277k edges.
        return to_torch_csr_tensor(edge_index, weight, size=(num_nodes, num_nodes))

    def _graphs(self, dropout: float) -> dict[str, torch.Tensor]:
        keep = torch.rand(self.bi_bundle.shape[0]) >= dropout if dropout > 0 else torch.ones_like(self.bi_bundle, dtype=torch.bool)
        bundles, items = self.bi_bundle[keep], self.bi_item[keep]
        size = torch.bincount(bundles, minlength=self.B).clamp(min=1).float()
        mean = to_torch_csr_tensor(torch.stack([bundles, items]), 1.0 / size[bundles], size=(self.B, self.I))
        return {"ub": self._normalized(self.ub_edges, self.U + self.B, dropout),
                "ui": self._normalized(self.ui_edges, self.U + self.I, dropout),
                "bi": mean}  # row-normalized bundle-item matrix: b^I = mean of the bundle's items

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.l2)  # λ₂ as weight decay

    def on_epoch_start(self, epoch: int) -> None:
        """Draw this epoch's edge dropout (the ED augmentation)."""
        self.graphs = self._graphs(self.edge_dropout)

    # -- propagation --------------------------------------------------------------------------------
    def _propagate(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        out, h = x, x
        for layer in range(self.num_layers):
            h = self.conv(h, adjacency) / (layer + 2)
            out = out + F.normalize(h, dim=-1)
        return out

    def views(self, graphs: dict | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(u^I, b^I, u^B, b^B) for every user and bundle."""
        graphs = graphs or self.graphs
        item_view = self._propagate(torch.cat([self.users, self.items]), graphs["ui"])
        users_i, items_i = item_view[: self.U], item_view[self.U:]
        bundles_i = graphs["bi"] @ items_i
        bundle_view = self._propagate(torch.cat([self.users, self.bundles]), graphs["ub"])
        return users_i, bundles_i, bundle_view[: self.U], bundle_view[self.U:]

    # -- training -----------------------------------------------------------------------------------
    def _info_nce(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
        logits = a @ b.T / self.c_temp
        return F.cross_entropy(logits, torch.arange(len(a)))

    def loss(self, batch: BPRBatch) -> torch.Tensor:
        users, positives, negatives = batch
        u_i, b_i, u_b, b_b = self.views()
        score = lambda b: (u_i[users] * b_i[b]).sum(-1) + (u_b[users] * b_b[b]).sum(-1)  # noqa: E731
        bpr = F.softplus(score(negatives) - score(positives)).mean()
        unique_users, unique_bundles = users.unique(), positives.unique()
        contrast = 0.5 * (self._info_nce(u_i[unique_users], u_b[unique_users]) + self._info_nce(b_i[unique_bundles], b_b[unique_bundles]))
        return bpr + self.c_lambda * contrast

    # -- inference ----------------------------------------------------------------------------------
    @torch.no_grad()
    def clean_views(self):
        """Inference views: no dropout, and cold bundles' b^B filled in from their items (:meth:`_fill_cold`)."""
        u_i, b_i, u_b, b_b = self.views(self._graphs(dropout=0.0))
        return u_i, b_i, u_b, self._fill_cold(b_b)

    def _fill_cold(self, b_b: torch.Tensor) -> torch.Tensor:
        """A bundle no user took has only its untrained b^B; give it the mean b^B of the warm bundles that
        share its items, weighted by the number of shared items (its members vouch for it)."""
        cold = (~self.warm).nonzero().flatten()
        if len(cold) == 0:
            return b_b
        membership = torch.sparse_coo_tensor(torch.stack([self.bi_bundle, self.bi_item]), torch.ones(len(self.bi_bundle)),
                                             (self.B, self.I)).coalesce()
        warm_ids = self.warm.nonzero().flatten()
        overlap = (membership.index_select(0, cold) @ membership.index_select(0, warm_ids).to_dense().T)  # (cold, warm)
        weights = overlap / overlap.sum(dim=1, keepdim=True).clamp(min=1.0)
        filled = b_b.clone()
        filled[cold] = weights @ b_b[warm_ids]
        return filled

    @torch.no_grad()
    def score(self, users: torch.Tensor) -> torch.Tensor:
        u_i, b_i, u_b, b_b = self.clean_views()
        return u_i[users] @ b_i.T + u_b[users] @ b_b.T

    @torch.no_grad()
    def item_embeddings(self) -> torch.Tensor:
        """Item-view item embeddings; items with no users take the mean b^B of the bundles that hold them."""
        item_view = self._propagate(torch.cat([self.users, self.items]), self._graphs(0.0)["ui"])[self.U:]
        _, _, _, b_b = self.clean_views()
        touched = torch.zeros(self.I, dtype=torch.bool)
        touched[self.ui_edges[1][self.ui_edges[1] >= self.U] - self.U] = True
        from_bundles = scatter(b_b[self.bi_bundle], self.bi_item, dim=0, dim_size=self.I, reduce="mean")
        return torch.where(touched[:, None], item_view, from_bundles)
