"""The semantic-ID table: L content codes per item plus one de-duplication code, saved next to the item ids.

A tokenizer (residual k-means or the RQ-VAE) gives every item ``L`` codes in ``[0, K)``. Items with
equal codes (a *collision*: near-identical texts) get a last code ``0, 1, 2, ...`` in item order, so
every item's ID is unique; the ID of item ``i`` is ``(c_1, ..., c_L, d)``.

For sequence models each ``(level, code)`` is one token: level ``l``'s code ``c`` is token
``SPECIAL + l*K + c`` and the de-duplication code ``d`` is ``SPECIAL + L*K + d`` (``SPECIAL`` ids
are kept for pad and end-of-sequence), which :meth:`SemanticIds.tokens` and :meth:`item_of_tokens`
translate both ways.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kit.errors import BadInput, CatalogError

PAD, EOS = 0, 1
SPECIAL = 2  # token ids below this are pad and end-of-sequence


def deduplicate(codes: np.ndarray) -> np.ndarray:
    """Append the de-duplication level: the item's position among the items with the same codes."""
    seen: Counter = Counter()
    suffix = np.zeros(len(codes), dtype=np.int64)
    for i, row in enumerate(map(tuple, codes)):
        suffix[i] = seen[row]
        seen[row] += 1
    return np.concatenate([codes.astype(np.int64), suffix[:, None]], axis=1)


@dataclass
class CodeStats:
    """How well a tokenizer used its codes: per-level usage, collisions, reconstruction error."""

    usage: list[float]  # share of the K codes used at each level
    collided_items: int  # items whose L content codes equal another item's (before de-duplication)
    largest_group: int  # most items sharing one code (the de-duplication level's size)
    unique_ids: int  # distinct IDs after de-duplication (== number of items)
    reconstruction_mse: float = float("nan")

    def as_dict(self) -> dict:
        return {"usage_per_level": [round(u, 3) for u in self.usage], "collided_items": self.collided_items,
                "largest_group": self.largest_group, "unique_ids": self.unique_ids,
                "reconstruction_mse": round(self.reconstruction_mse, 5)}


@dataclass
class SemanticIds:
    """Codes of shape ``(n_items, levels + 1)`` (the last column de-duplicates) for items ``item_ids``."""

    codes: np.ndarray
    codebook_size: int
    item_ids: list[str]
    texts: list[str] = field(default_factory=list)
    tokenizer: str = ""

    def __post_init__(self) -> None:
        self.codes = np.asarray(self.codes, dtype=np.int64)
        if self.codes.ndim != 2 or len(self.codes) != len(self.item_ids):
            raise BadInput(f"codes must have one row per item: {self.codes.shape} for {len(self.item_ids)} items")
        self._position = {item: i for i, item in enumerate(self.item_ids)}
        self._by_id = {tuple(row): i for i, row in enumerate(self.codes.tolist())}
        if len(self._by_id) != len(self.codes):
            raise BadInput("semantic IDs are not unique: de-duplicate the codes first")

    @classmethod
    def from_codes(cls, codes: np.ndarray, codebook_size: int, item_ids: list[str], texts: list[str] | None = None,
                   tokenizer: str = "") -> "SemanticIds":
        return cls(deduplicate(codes), codebook_size, list(item_ids), list(texts or []), tokenizer)

    @property
    def levels(self) -> int:
        """Content levels (the de-duplication level not counted)."""
        return self.codes.shape[1] - 1

    @property
    def dedup_size(self) -> int:
        return int(self.codes[:, -1].max()) + 1

    @property
    def vocab_size(self) -> int:
        return SPECIAL + self.levels * self.codebook_size + self.dedup_size

    def index(self, item: int | str) -> int:
        if isinstance(item, str):
            if item not in self._position:
                raise BadInput(f"unknown item {item!r}")
            return self._position[item]
        if not 0 <= item < len(self.item_ids):
            raise BadInput(f"item index {item} is outside 0..{len(self.item_ids) - 1}")
        return int(item)

    def semantic_id(self, item: int | str) -> tuple[int, ...]:
        """The codes of an item (by position or by its dataset id), the de-duplication code last."""
        return tuple(int(c) for c in self.codes[self.index(item)])

    def items_with_prefix(self, prefix: tuple[int, ...] | list[int]) -> list[int]:
        """Positions of the items whose ID starts with ``prefix`` (all items for an empty prefix)."""
        prefix = tuple(prefix)
        if len(prefix) > self.codes.shape[1]:
            raise BadInput(f"a prefix has at most {self.codes.shape[1]} codes, got {len(prefix)}")
        if not prefix:
            return list(range(len(self.codes)))
        mask = (self.codes[:, :len(prefix)] == np.asarray(prefix)).all(axis=1)
        return np.flatnonzero(mask).tolist()

    def text_of(self, item: int | str) -> str:
        return self.texts[self.index(item)] if self.texts else ""

    # --- tokens for sequence models ---
    def tokens(self, item: int) -> list[int]:
        """Token ids of one item's ID (level offsets applied)."""
        row = self.codes[item]
        content = [SPECIAL + level * self.codebook_size + int(c) for level, c in enumerate(row[:-1])]
        return content + [SPECIAL + self.levels * self.codebook_size + int(row[-1])]

    def token_table(self) -> np.ndarray:
        """``(n_items, levels + 1)`` token ids, for batching."""
        offsets = SPECIAL + np.arange(self.codes.shape[1]) * self.codebook_size
        return self.codes + offsets

    def digest(self) -> str:
        """A short hash of the codes: a model trained on these IDs is saved under it, never mixed up with others."""
        return hashlib.sha256(np.ascontiguousarray(self.codes).tobytes()).hexdigest()[:8]

    def item_of_codes(self, codes: tuple[int, ...]) -> int | None:
        """The item whose full ID is ``codes``, or ``None`` when no item has it."""
        return self._by_id.get(tuple(int(c) for c in codes))

    def item_of_tokens(self, tokens: list[int] | tuple[int, ...]) -> int | None:
        """The item a token sequence names, or ``None`` when no item has that ID (an invalid generation)."""
        table_offsets = SPECIAL + np.arange(self.codes.shape[1]) * self.codebook_size
        codes = tuple(int(t) - int(o) for t, o in zip(tokens, table_offsets))
        return self._by_id.get(codes) if len(codes) == self.codes.shape[1] else None

    def prefix_trie(self) -> dict[tuple[int, ...], list[int]]:
        """Allowed next tokens after every token prefix of a real ID (the constrained decoder's table)."""
        allowed: dict[tuple[int, ...], set[int]] = defaultdict(set)
        for row in self.token_table().tolist():
            for depth in range(len(row)):
                allowed[tuple(row[:depth])].add(row[depth])
        return {prefix: sorted(tokens) for prefix, tokens in allowed.items()}

    def stats(self, reconstruction_mse: float = float("nan")) -> CodeStats:
        content = [tuple(r) for r in self.codes[:, :-1].tolist()]
        groups = Counter(content)
        usage = [len(np.unique(self.codes[:, level])) / self.codebook_size for level in range(self.levels)]
        collided = sum(count for count in groups.values() if count > 1)
        return CodeStats(usage, collided, max(groups.values()), len(self._by_id), reconstruction_mse)

    # --- persistence: one Parquet table, one row per item ---
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pd.DataFrame({"item_id": self.item_ids, "text": self.texts or [""] * len(self.item_ids)})
        for level in range(self.codes.shape[1]):
            table[f"code_{level}"] = self.codes[:, level]
        tmp = path.with_suffix(".tmp")
        table.to_parquet(tmp, index=False)
        tmp.replace(path)
        meta = {"codebook_size": self.codebook_size, "tokenizer": self.tokenizer}
        path.with_suffix(".json").write_text(json.dumps(meta) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "SemanticIds":
        path = Path(path)
        if not path.exists() or not path.with_suffix(".json").exists():
            raise CatalogError(f"no semantic IDs at {path}; build them with `python -m kit semids build`")
        try:
            meta = json.loads(path.with_suffix(".json").read_text())
            table = pd.read_parquet(path)
        except (ValueError, OSError) as exc:  # a truncated or foreign file; pyarrow's errors are ValueErrors
            raise CatalogError(f"{path} is not a semantic-ID table ({exc.__class__.__name__}); rebuild it with "
                               "`python -m kit semids build`") from None
        code_columns = sorted((c for c in table.columns if c.startswith("code_")), key=lambda c: int(c[5:]))
        if not code_columns or "item_id" not in table:
            raise CatalogError(f"{path}: expected columns item_id and code_0.. ; found {list(table.columns)}")
        return cls(table[code_columns].to_numpy(), int(meta.get("codebook_size", 0)), table["item_id"].tolist(),
                   table["text"].tolist(), meta.get("tokenizer", ""))
