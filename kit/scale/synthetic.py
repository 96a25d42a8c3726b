"""Large vector sets grown from real embeddings, for measuring indexes at sizes no bundled catalog has.

We have no million-item catalog, so :func:`grow_vectors` makes one from a real one's item vectors. Each
new vector lies between a real item and one of its nearest real neighbours, moved a little off that line:

    x = normalize(lam * v_i + (1 - lam) * v_j + sigma * eps),   lam ~ U(0, 1),   eps ~ N(0, I / dim)

with ``i`` a uniformly drawn real item, ``j`` uniform among its ``neighbours`` nearest real items, and
``sigma`` 0.1 by default. The real vectors are kept as the first rows. The result has the real catalog's
clusters and fills the space between neighbours densely instead of stacking copies of each item, so
nearest-neighbour search is as hard as in a catalog with many similar products.
"""

from __future__ import annotations

import numpy as np

from kit.errors import BadInput


def _normalized(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True).clip(min=1e-12)


def nearest_neighbours(vectors: np.ndarray, k: int, chunk: int = 2048) -> np.ndarray:
    """Each vector's ``k`` nearest others by cosine, (n, k)."""
    out = np.empty((len(vectors), k), dtype=np.int64)
    for start in range(0, len(vectors), chunk):
        scores = vectors[start:start + chunk] @ vectors.T
        scores[np.arange(len(scores)), np.arange(start, start + len(scores))] = -np.inf
        out[start:start + chunk] = np.argpartition(-scores, k, axis=1)[:, :k]
    return out


def grow_vectors(real: np.ndarray, n: int, neighbours: int = 10, sigma: float = 0.1, seed: int = 0,
                 chunk: int = 100_000) -> np.ndarray:
    """``n`` float32 unit vectors: the ``real`` ones first, then ``n - len(real)`` grown as the docstring says."""
    real = _normalized(np.asarray(real, dtype=np.float32))
    if n < len(real):
        raise BadInput(f"asked for {n:,} vectors but the real set already has {len(real):,}")
    if len(real) <= neighbours:
        raise BadInput(f"need more than {neighbours} real vectors to grow from, got {len(real)}")
    rng = np.random.default_rng(seed)
    near = nearest_neighbours(real, neighbours)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    out[:len(real)] = real
    for start in range(len(real), n, chunk):
        size = min(chunk, n - start)
        i = rng.integers(0, len(real), size)
        j = near[i, rng.integers(0, neighbours, size)]
        lam = rng.random((size, 1), dtype=np.float32)
        eps = rng.standard_normal((size, real.shape[1]), dtype=np.float32) / np.sqrt(real.shape[1])
        out[start:start + size] = _normalized(lam * real[i] + (1 - lam) * real[j] + sigma * eps)
    return out
