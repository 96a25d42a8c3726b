"""SASRec (Kang & McAuley, ICDM 2018) trained with full cross-entropy over every item: the ID-based bar.

A causal transformer reads the last ``max_len`` items of a history (item embedding + position
embedding) and its output at position ``t``, ``h_t``, scores every item by a dot product with the
shared item embeddings ``E``::

    p(i_{t+1} = j | i_1..i_t) = softmax_j(h_t · E_j)
    loss = - Σ_t log p(i_{t+1} | i_1..i_t)            (all positions of every training sequence)

The original paper sampled one negative per positive with a binary loss; scoring the full item
set with softmax cross-entropy (Klenitskiy & Vasilev 2023, "Turning Dross Into Gold Loss") is much
stronger and, with a few thousand items, just as cheap. Item 0 of the dataset is token 1 here
(token 0 pads short histories).

With ``text_vectors`` (the items' text embeddings) every item's embedding becomes
``E_j = e_j + W t_j``: a learned ID part plus a projection of its text, in the spirit of UniSRec and
VQ-Rec, so items that are rare in training borrow from items described alike.

Three settings exist to reproduce published numbers (the ablation in docs/benchmarks.md): ``norm_first``
(pre-norm blocks with a final LayerNorm, or the paper's post-norm blocks), ``input_norm`` (the paper's
TensorFlow code scales item embeddings by sqrt(hidden); RecBole, which the VQ-Rec and UniSRec tables ran,
adds the position embedding and applies LayerNorm) and ``init_std`` (RecBole draws every linear and
embedding weight from N(0, init_std); torch's defaults give position embeddings N(0, 1)).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from kit.sequences import SequenceData
from kit.training import Trainable


@dataclass
class SASRecConfig:
    hidden: int = 64
    layers: int = 2
    heads: int = 2
    max_len: int = 50
    dropout: float = 0.3
    epochs: int = 200
    patience: int = 10  # epochs without a better valid Recall@10 before stopping
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    norm_first: bool = True  # pre-norm blocks + a final LayerNorm; False: post-norm blocks (SASRec, RecBole)
    input_norm: bool = False  # LayerNorm(item + position) (RecBole) instead of item * sqrt(hidden) + position
    init_std: float | None = None  # N(0, init_std) for every linear and embedding weight (RecBole: 0.02)


class SASRec(Trainable):
    def __init__(self, num_items: int, config: SASRecConfig, text_vectors: np.ndarray | None = None) -> None:
        super().__init__()
        self.config, self.num_items = config, num_items
        self.items = nn.Embedding(num_items + 1, config.hidden, padding_idx=0)
        self.text_projection = None
        if text_vectors is not None:
            padded = np.concatenate([np.zeros((1, text_vectors.shape[1]), np.float32), text_vectors.astype(np.float32)])
            self.register_buffer("text_vectors", torch.from_numpy(padded), persistent=False)
            self.text_projection = nn.Linear(text_vectors.shape[1], config.hidden, bias=False)
        self.positions = nn.Embedding(config.max_len, config.hidden)
        layer = nn.TransformerEncoderLayer(config.hidden, config.heads, 4 * config.hidden, config.dropout,
                                           batch_first=True, norm_first=config.norm_first, activation="gelu")
        self.blocks = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.hidden) if config.norm_first else nn.Identity()
        self.input_norm = nn.LayerNorm(config.hidden) if config.input_norm else nn.Identity()
        self.dropout = nn.Dropout(config.dropout)
        if config.init_std is not None:
            for module in self.modules():
                if isinstance(module, (nn.Linear, nn.Embedding)):
                    nn.init.normal_(module.weight, std=config.init_std)
                if isinstance(module, nn.Linear) and module.bias is not None:
                    nn.init.zeros_(module.bias)
            for block in self.blocks.layers:  # attention's fused input projection is a bare parameter
                nn.init.normal_(block.self_attn.in_proj_weight, std=config.init_std)
                nn.init.zeros_(block.self_attn.in_proj_bias)
        nn.init.normal_(self.items.weight, std=0.02)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``tokens`` (batch, max_len), left-padded with 0 -> hidden states (batch, max_len, hidden)."""
        length = tokens.shape[1]
        items = self.item_embeddings()[tokens]
        scale = 1.0 if self.config.input_norm else self.config.hidden ** 0.5
        x = self.input_norm(items * scale + self.positions.weight[:length])
        return self.norm(self.blocks(self.dropout(x), mask=self.attention_mask(tokens)))

    def attention_mask(self, tokens: torch.Tensor) -> torch.Tensor:
        """(batch * heads, L, L) additive mask: no look-ahead, no padding keys, but always oneself.

        Allowing every position its own key keeps fully padded rows finite (an all-masked softmax
        is NaN, and 0 * NaN would leak into real positions through the attention product).
        """
        length = tokens.shape[1]
        blocked = torch.triu(torch.ones(length, length, dtype=torch.bool), diagonal=1) | (tokens == 0)[:, None, :]
        blocked &= ~torch.eye(length, dtype=torch.bool)
        mask = torch.zeros(blocked.shape).masked_fill(blocked, float("-inf"))
        return mask.repeat_interleave(self.config.heads, dim=0)

    def item_embeddings(self) -> torch.Tensor:
        """``E``: one row per token (row 0 pads), ID part plus the projected text when there is one."""
        if self.text_projection is None:
            return self.items.weight
        return self.items.weight + self.text_projection(self.text_vectors) * (torch.arange(len(self.text_vectors)) > 0)[:, None]

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Scores of the dataset's items 0..n-1 (the padding token is not an item)."""
        return hidden @ self.item_embeddings()[1:].T

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay)

    def encode_histories(self, histories: list[tuple[int, ...]]) -> torch.Tensor:
        """Left-padded token ids of the last ``max_len`` items of each history."""
        out = torch.zeros(len(histories), self.config.max_len, dtype=torch.long)
        for row, history in enumerate(histories):
            tail = history[-self.config.max_len:]
            out[row, self.config.max_len - len(tail):] = torch.tensor(tail) + 1
        return out

    @torch.no_grad()
    def score(self, histories: list[tuple[int, ...]]) -> np.ndarray:
        """``(batch, num_items)`` next-item scores (for :func:`kit.semids.ranking.ranks_from_scores`)."""
        self.eval()
        hidden = self(self.encode_histories(histories))[:, -1]
        return self.logits(hidden).numpy()

    def loss(self, sequences: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of every next item over all items; ``sequences`` are left-padded, length max_len + 1."""
        inputs, targets = sequences[:, :-1], sequences[:, 1:]
        hidden = self(inputs)
        mask = (inputs != 0) & (targets != 0)
        return nn.functional.cross_entropy(self.logits(hidden[mask]), targets[mask] - 1)


def training_sequences(data: SequenceData, max_len: int) -> torch.Tensor:
    """One left-padded row per user: the train part of their sequence (the valid example's history)."""
    rows = torch.zeros(len(data.splits["valid"]), max_len + 1, dtype=torch.long)
    for row, example in enumerate(data.splits["valid"]):
        tail = example.history[-(max_len + 1):]
        rows[row, max_len + 1 - len(tail):] = torch.tensor(tail) + 1
    return rows


def config_dict(config: SASRecConfig) -> dict:
    return asdict(config)
