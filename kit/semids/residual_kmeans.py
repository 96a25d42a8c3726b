"""Residual k-means: the simple tokenizer every learned one is compared with.

Level 1 clusters the item vectors ``x`` into ``K`` centroids; level ``l`` clusters what the levels
before it left unexplained::

    r_0 = x,   c_l = argmin_k ||r_{l-1} - C^l_k||,   r_l = r_{l-1} - C^l_{c_l}

so the codes ``(c_1, ..., c_L)`` name a coarse-to-fine path and ``Σ_l C^l_{c_l}`` reconstructs ``x``.
The clustering is faiss's k-means, best of a few seeded runs (the same vectors give the same codes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ResidualKMeans:
    levels: int = 3
    codebook_size: int = 64
    iterations: int = 25
    restarts: int = 5  # faiss keeps the best of this many k-means runs (small sets have bad local optima)
    seed: int = 0

    def fit_codes(self, vectors: np.ndarray) -> tuple[np.ndarray, float]:
        """``(codes of shape (n, levels), mean squared reconstruction error)``."""
        import faiss

        residual = np.ascontiguousarray(vectors, dtype=np.float32).copy()
        codes = np.zeros((len(residual), self.levels), dtype=np.int64)
        for level in range(self.levels):
            kmeans = faiss.Kmeans(residual.shape[1], self.codebook_size, niter=self.iterations,
                                  nredo=self.restarts, seed=self.seed + level, verbose=False)
            kmeans.train(residual)
            _, assignment = kmeans.index.search(residual, 1)
            codes[:, level] = assignment[:, 0]
            residual -= kmeans.centroids[codes[:, level]]
        return codes, float((residual ** 2).sum(axis=1).mean())
