"""One small interface for vector search: exact (numpy) for small catalogs, faiss HNSW for large ones.

Vectors are L2-normalized, so inner product is cosine similarity. ``build_index(vectors)`` picks exact
search up to ``EXACT_LIMIT`` vectors (a 10k x 256 matrix product takes about a millisecond) and HNSW above.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from kit.files import written_atomically

EXACT_LIMIT = 50_000


class VectorIndex(Protocol):
    size: int

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, positions), each (Q, k), best first; ``allowed`` is a boolean mask over the vectors."""

    def save(self, path: Path) -> None: ...


class ExactIndex:
    kind = "exact"

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.size = len(self.vectors)

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        scores = np.atleast_2d(queries).astype(np.float32) @ self.vectors.T
        if allowed is not None:
            scores[:, ~allowed] = -np.inf
        k = min(k, self.size if allowed is None else int(allowed.sum()))
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < self.size else np.tile(np.arange(self.size), (len(scores), 1))
        order = np.take_along_axis(scores, top, 1).argsort(axis=1)[:, ::-1]
        top = np.take_along_axis(top, order, 1)[:, :k]
        return np.take_along_axis(scores, top, 1), top

    def save(self, path: Path) -> None:
        with written_atomically(path) as tmp, open(tmp, "wb") as out:
            np.save(out, self.vectors)

    @classmethod
    def load(cls, path: Path) -> "ExactIndex":
        return cls(np.load(Path(path)))


class HNSWIndex:
    """faiss ``IndexHNSWFlat`` with inner product; filters over-fetch, then drop what is not allowed."""

    kind = "hnsw"

    def __init__(self, vectors: np.ndarray | None = None, m: int = 32, ef_search: int = 128, index=None) -> None:
        import faiss

        if index is None:
            vectors = np.ascontiguousarray(vectors, dtype=np.float32)
            index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
            index.add(vectors)
        index.hnsw.efSearch = ef_search
        self.index, self.size = index, index.ntotal

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        fetch = k if allowed is None else min(self.size, k * 20)
        scores, positions = self.index.search(queries, fetch)
        if allowed is None:
            return scores, positions
        out_s, out_p = np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1)
        for row in range(len(queries)):
            keep = [(s, p) for s, p in zip(scores[row], positions[row]) if p >= 0 and allowed[p]][:k]
            for col, (s, p) in enumerate(keep):
                out_s[row, col], out_p[row, col] = s, p
        return out_s, out_p

    def save(self, path: Path) -> None:
        import faiss

        with written_atomically(path) as tmp:
            faiss.write_index(self.index, str(tmp))

    @classmethod
    def load(cls, path: Path) -> "HNSWIndex":
        import faiss

        return cls(index=faiss.read_index(str(path)))


def build_index(vectors: np.ndarray, kind: str = "auto") -> VectorIndex:
    if kind == "auto":
        kind = "exact" if len(vectors) <= EXACT_LIMIT else "hnsw"
    if kind == "exact":
        return ExactIndex(vectors)
    if kind == "hnsw":
        return HNSWIndex(vectors)
    raise ValueError(f"unknown index kind {kind!r}; use auto, exact or hnsw")
