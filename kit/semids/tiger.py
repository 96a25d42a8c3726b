"""Generative retrieval in the manner of TIGER (Rajput et al., NeurIPS 2023): generate the next item's semantic ID.

The history becomes a token sequence (each of the last ``max_items`` items spelled as its ID's
``L + 1`` tokens); a small T5 encoder-decoder, built from a ``transformers`` config and trained from
scratch, learns

    p(next ID | history) = Π_{l=1}^{L+1} p(c_l | c_<l, history)

with cross-entropy on the target ID's tokens. Recommending is beam search over IDs: the K best
beams are the top-K items. Beam search alone can spell an ID that no item has; with
``constrained=True`` a prefix trie of the real IDs is handed to ``generate`` as its
``prefix_allowed_tokens_fn``, so every beam names a real item. Because items are named by content,
an item never seen in training can still be generated through the prefixes it shares with others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from kit.semids.codes import EOS, PAD, SemanticIds
from kit.training import Trainable


@dataclass
class TigerConfig:
    d_model: int = 128
    layers: int = 3
    heads: int = 4
    d_ff: int = 512
    dropout: float = 0.1
    max_items: int = 20
    epochs: int = 20
    patience: int = 4
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 0.01
    valid_users: int = 1000  # valid examples scored after each epoch (beam search is the slow part)
    seed: int = 0


class Tiger(Trainable):
    def __init__(self, ids: SemanticIds, config: TigerConfig) -> None:
        from transformers import T5Config, T5ForConditionalGeneration

        super().__init__()
        self.ids, self.config = ids, config
        self.t5 = T5ForConditionalGeneration(T5Config(
            vocab_size=ids.vocab_size, d_model=config.d_model, d_kv=config.d_model // config.heads, d_ff=config.d_ff,
            num_layers=config.layers, num_decoder_layers=config.layers, num_heads=config.heads,
            dropout_rate=config.dropout, feed_forward_proj="relu", pad_token_id=PAD, eos_token_id=EOS,
            decoder_start_token_id=PAD, tie_word_embeddings=True))
        self.table = torch.from_numpy(ids.token_table())
        self._trie = ids.prefix_trie()

    def encode_histories(self, histories: list[tuple[int, ...]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids of the last ``max_items`` items, ending in EOS, right-padded to the batch's longest; and the mask."""
        longest = max(min(len(h), self.config.max_items) for h in histories)
        width = longest * self.table.shape[1] + 1
        tokens = torch.full((len(histories), width), PAD, dtype=torch.long)
        for row, history in enumerate(histories):
            flat = self.table[list(history[-self.config.max_items:])].reshape(-1)
            tokens[row, :len(flat)] = flat
            tokens[row, len(flat)] = EOS
        return tokens, (tokens != PAD).long()

    def loss(self, batch: tuple[list[tuple[int, ...]], list[int]]) -> torch.Tensor:
        histories, targets = batch
        tokens, mask = self.encode_histories(histories)
        return self.t5(input_ids=tokens, attention_mask=mask, labels=self.table[targets]).loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay)

    def _allowed(self, batch_id: int, sent: torch.Tensor) -> list[int]:
        return self._trie.get(tuple(sent[1:].tolist()), [EOS])  # sent[0] is the decoder start token

    @torch.no_grad()
    def generate_ids(self, histories: list[tuple[int, ...]], k: int, constrained: bool = True) -> list[list[tuple]]:
        """The ``k`` best token sequences per history (each ``L + 1`` tokens), best first."""
        self.eval()
        tokens, mask = self.encode_histories(histories)
        out = self.t5.generate(input_ids=tokens, attention_mask=mask, num_beams=k, num_return_sequences=k,
                               max_new_tokens=self.table.shape[1], min_new_tokens=self.table.shape[1],
                               do_sample=False, early_stopping=True,
                               prefix_allowed_tokens_fn=self._allowed if constrained else None)
        sequences = [tuple(row) for row in out[:, 1:].tolist()]
        return [sequences[i * k:(i + 1) * k] for i in range(len(histories))]

    @torch.no_grad()
    def score(self, histories: list[tuple[int, ...]], chunk: int = 2048) -> np.ndarray:
        """``(batch, num_items)``: log p(item's ID | history), every item's ``L + 1`` tokens teacher-forced.

        The exact ranking that beam search approximates, for :func:`kit.semids.ranking.ranks_from_scores`
        and for explanations (kit/semids/explain.py); one encoder pass per history, the decoder over all items.
        """
        self.eval()
        tokens, mask = self.encode_histories(histories)
        encoded = self.t5.encoder(input_ids=tokens, attention_mask=mask).last_hidden_state  # (B, T, d)
        out = np.zeros((len(histories), len(self.table)), dtype=np.float32)
        for row in range(len(histories)):
            for start in range(0, len(self.table), chunk):
                labels = self.table[start:start + chunk]  # (n, L + 1)
                n = len(labels)
                logits = self.t5(encoder_outputs=(encoded[row:row + 1].expand(n, -1, -1),),
                                 attention_mask=mask[row:row + 1].expand(n, -1), labels=labels).logits
                picked = logits.log_softmax(-1).gather(-1, labels[..., None])[..., 0]  # (n, L + 1)
                out[row, start:start + n] = picked.sum(-1).numpy()
        return out

    def recommend(self, histories: list[tuple[int, ...]], k: int = 10, constrained: bool = True
                  ) -> tuple[list[list[int]], float]:
        """Top-``k`` items per history and the share of generated IDs that name no item."""
        lists, invalid, total = [], 0, 0
        for beams in self.generate_ids(histories, k, constrained):
            items = [self.ids.item_of_tokens(b) for b in beams]
            invalid += sum(i is None for i in items)
            total += len(items)
            lists.append([i for i in items if i is not None])
        return lists, invalid / max(total, 1)
