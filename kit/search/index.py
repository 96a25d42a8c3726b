"""Vector indexes chosen by measurement: exact search for small catalogs, and for large ones the faiss
index that reaches a target recall fastest within a memory budget.

Vectors are L2-normalized, so inner product is cosine similarity. Every index answers
``search(queries, k, allowed=None) -> (scores, positions)``, best first, padded with ``-inf`` / ``-1`` when
fewer than ``k`` vectors are allowed.

``build_index(vectors)`` keeps exact search up to ``EXACT_LIMIT`` vectors (a 50k x 256 matrix product is a
few milliseconds). Above it, each kind of :data:`INDEX_KINDS` that fits ``max_memory_bytes`` is built (IVF-PQ
only when nothing else fits: it is slow to train and its recall is low); its
search knob (``nprobe`` for IVF, ``efSearch`` for HNSW) is raised until recall@10 against exact search on
held-out queries reaches ``target_recall`` with a margin of two standard errors (so the promise holds on
queries the build never saw, not only on the average of these); the kind that then answers one query
fastest wins. Queries are the caller's real ones when given (tune on what you will search with: a text
query against photo vectors is harder than an item against items); otherwise ``HELD_OUT`` data points are
set aside, every candidate is built and tuned on the rest with them as queries (fresh points of the same
distribution, which the index does not contain), and the chosen kind is then rebuilt over all vectors. The index
carries an :class:`IndexCard` saying what was chosen and what was measured, written next to a saved index.
The same idea as autofaiss, in a few lines (autofaiss itself pins numpy 1 and pandas 2).

Filters never over-fetch: an ``allowed`` mask becomes a faiss ID selector (a bitmap), and the search
knob grows with the inverse of the allowed share, times a ``filter_boost`` measured at build time, so that
a filtered search visits enough allowed vectors to keep its recall.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from kit.errors import BadInput
from kit.files import written_atomically

EXACT_LIMIT = 50_000
SMALL_FILTER = 4_096  # an HNSW search allowed at most this many vectors scores them exactly instead
RECALL_AT = 10
HELD_OUT = 500  # data points set aside to tune on when the caller gives no queries


@dataclass(frozen=True)
class IndexKind:
    """One kind of faiss index, as data: how to build it for ``n`` vectors of ``dim`` dimensions, and the
    search-time knob that trades recall for speed."""

    name: str
    description: str
    factory: str  # faiss index_factory string; {nlist} and {pq} are filled in from the data's size
    knob: str  # "nprobe" (IVF) or "efSearch" (HNSW)
    knob_values: tuple[int, ...]  # tried in order, smallest (fastest) first
    bytes_per_dim: float  # stored bytes per vector dimension: 4 (float32), 1 (8-bit), 0.25 (PQ, 4 dims a byte)
    last_resort: bool = False  # auto builds it only when no other kind fits the memory budget

    def factory_string(self, n: int, dim: int) -> str:
        return self.factory.format(nlist=nlist_for(n), pq=max(1, dim // 4))

    def estimated_bytes(self, n: int, dim: int) -> int:
        """Index memory before building: codes, ids or graph links, and the coarse quantizer."""
        codes = max(1, int(dim * self.bytes_per_dim))
        if self.knob == "efSearch":
            return n * (codes + 32 * 2 * 4 + 8)  # level-0 links, 2 x 32 per node
        return n * (codes + 8) + nlist_for(n) * dim * 4  # ids, and the k-means centroids


def nlist_for(n: int) -> int:
    """IVF cells: about 4 sqrt(n) rounded to a power of two (1,024 at 100k, 4,096 at 1M; faiss's guideline)."""
    return int(2 ** round(math.log2(max(16.0, 4 * math.sqrt(n)))))


_IVF_PROBES = (1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 512)
_HNSW_EFS = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
INDEX_KINDS: dict[str, IndexKind] = {kind.name: kind for kind in (
    IndexKind("hnsw", "HNSW graph over the full vectors (32 links per node)", "HNSW32,Flat", "efSearch",
              _HNSW_EFS, 4),
    IndexKind("hnsw-sq8", "HNSW graph over 8-bit scalar-quantized vectors", "HNSW32,SQ8", "efSearch", _HNSW_EFS, 1),
    IndexKind("ivf-flat", "inverted file (k-means cells) over the full vectors", "IVF{nlist},Flat", "nprobe",
              _IVF_PROBES, 4),
    IndexKind("ivf-sq8", "inverted file over 8-bit scalar-quantized vectors", "IVF{nlist},SQ8", "nprobe",
              _IVF_PROBES, 1),
    # "np": no polysemous training. faiss's factory otherwise spends ~40 s (6,000 vectors, one core) permuting
    # the PQ codes so Hamming distances approximate real ones, which only polysemous search uses; the
    # codes the kit searches (ADC distances) come out the same, measured: identical neighbours and scores.
    IndexKind("ivf-pq", "inverted file over product-quantized codes (dim/4 bytes per vector)", "IVF{nlist},PQ{pq}np",
              "nprobe", _IVF_PROBES, 0.25, last_resort=True),  # recall 0.6-0.8 (benchmarks.md)
)}
INDEX_KIND_NAMES = ("auto", "exact", *INDEX_KINDS)


@dataclass
class IndexCard:
    """What an index is and what it was measured to do; written as ``<index>.card.json`` beside it."""

    kind: str
    params: dict[str, int | str]
    size: int
    dim: int
    recall_at_10: float  # against exact search, on ``queries`` held-out queries (1.0 for exact search)
    queries: int
    memory_bytes: int
    build_seconds: float
    p50_ms: float | None = None  # one query at a time, on the machine that built it
    target_recall: float | None = None
    max_memory_bytes: int | None = None
    candidates: list[dict] = field(default_factory=list)  # every kind that auto measured, chosen or not

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "IndexCard":
        return cls(**data)

    def summary(self) -> str:
        knobs = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return (f"{self.kind} ({knobs}) over {self.size:,} vectors: recall@10 {self.recall_at_10:.3f} on "
                f"{self.queries} held-out queries, {self.memory_bytes / 2**20:,.1f} MiB, built in "
                f"{self.build_seconds:.1f} s")


class VectorIndex(Protocol):
    kind: str
    size: int
    card: IndexCard

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, positions), each (Q, k), best first; ``allowed`` is a boolean mask over the vectors."""

    def save(self, path: Path) -> None: ...


def _as_queries(queries: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)


class ExactIndex:
    """Every vector scored by one matrix product; the truth the approximate kinds are measured against."""

    kind = "exact"

    def __init__(self, vectors: np.ndarray, card: IndexCard | None = None) -> None:
        self.vectors = vectors if vectors.dtype == np.float32 else vectors.astype(np.float32)
        self.size = len(self.vectors)
        self.card = card or IndexCard("exact", {}, self.size, int(self.vectors.shape[1]) if self.vectors.ndim == 2
                                      else 0, 1.0, 0, int(self.vectors.nbytes), 0.0)

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        queries = _as_queries(queries)
        rows = max(1, 2**25 // max(1, self.size))  # queries per block: a block's scores stay under 128 MB
        parts = [self._search_block(queries[start:start + rows], k, allowed) for start in range(0, len(queries), rows)]
        return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])

    def _search_block(self, queries: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        scores = queries @ self.vectors.T
        if allowed is not None:
            scores[:, ~allowed] = -np.inf
        available = self.size if allowed is None else int(allowed.sum())
        take = min(k, available)
        if take == 0:
            return np.full((len(scores), k), -np.inf, np.float32), np.full((len(scores), k), -1)
        top = np.argpartition(-scores, take - 1, axis=1)[:, :take] if take < self.size else \
            np.tile(np.arange(self.size), (len(scores), 1))
        order = np.take_along_axis(scores, top, 1).argsort(axis=1, kind="stable")[:, ::-1]
        top = np.take_along_axis(top, order, 1)[:, :take]
        out_s, out_p = np.take_along_axis(scores, top, 1), top
        if take < k:  # fewer allowed than asked for: pad like faiss does
            pad = k - take
            out_s = np.hstack([out_s, np.full((len(out_s), pad), -np.inf, np.float32)])
            out_p = np.hstack([out_p, np.full((len(out_p), pad), -1)])
        return out_s, out_p

    def save(self, path: Path) -> None:
        with written_atomically(path) as tmp, open(tmp, "wb") as out:
            np.save(out, np.asarray(self.vectors))
        _save_card(self.card, path)

    @classmethod
    def load(cls, path: Path, mmap: bool = True) -> "ExactIndex":
        """``mmap``: the vectors stay on disk and are paged in as searched (a 1M x 256 index is 1 GB)."""
        return cls(np.load(Path(path), mmap_mode="r" if mmap else None), _load_card(path))


class FaissIndex:
    """Any kind of :data:`INDEX_KINDS`: a faiss index, its search knob, and its card."""

    def __init__(self, index, kind: str, knob_value: int, card: IndexCard | None = None) -> None:
        self.index, self.kind, self.size = index, kind, int(index.ntotal)
        self.knob = INDEX_KINDS[kind].knob
        self.knob_value = knob_value
        self.filter_boost = int(card.params.get("filter_boost", 1)) if card else 1
        self.card = card or IndexCard(kind, {self.knob: knob_value, "filter_boost": 1}, self.size, int(index.d), float("nan"), 0,
                                      faiss_memory_bytes(index), 0.0)

    @classmethod
    def build(cls, vectors: np.ndarray, kind: str, knob_value: int | None = None, train_size: int = 100_000,
              seed: int = 0) -> "FaissIndex":
        """Train on at most ``train_size`` vectors (k-means and quantizers), then add every vector."""
        import faiss

        spec = INDEX_KINDS[kind]
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        index = faiss.index_factory(dim, spec.factory_string(n, dim), faiss.METRIC_INNER_PRODUCT)
        if not index.is_trained:
            rng = np.random.default_rng(seed)
            sample = vectors if n <= train_size else vectors[np.sort(rng.choice(n, train_size, replace=False))]
            index.train(sample)
        index.add(vectors)
        return cls(index, kind, knob_value or spec.knob_values[len(spec.knob_values) // 2])

    def rebuilt_over(self, vectors: np.ndarray, seed: int = 0) -> "FaissIndex":
        """The same kind and knobs over ``vectors``: an IVF index keeps its trained cells and codes (emptied,
        then filled), so its tuned ``nprobe`` means the same; a graph is built anew."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if isinstance(self.index, faiss.IndexIVF):
            self.index.reset()
            self.index.add(vectors)
            self.size = int(self.index.ntotal)
            return self
        fresh = FaissIndex.build(vectors, self.kind, self.knob_value, seed=seed)
        fresh.filter_boost = self.filter_boost
        return fresh

    @property
    def knob_limit(self) -> int:
        return int(self.index.nlist) if self.knob == "nprobe" else 4096

    def set_knob(self, value: int) -> None:
        self.knob_value = min(int(value), self.knob_limit)
        self.card.params[self.knob] = self.knob_value

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        if allowed is not None and not allowed.any():
            n = len(_as_queries(queries))
            return np.full((n, k), -np.inf, np.float32), np.full((n, k), -1)
        if allowed is not None and self.knob == "efSearch" and allowed.sum() <= SMALL_FILTER:
            return self._search_subset(queries, k, np.flatnonzero(allowed))
        bits = None if allowed is None else np.packbits(allowed, bitorder="little")  # alive while faiss reads it
        params = self._parameters(allowed, bits)
        scores, positions = self.index.search(_as_queries(queries), k, params=params)
        scores[positions < 0] = -np.inf
        return scores, positions

    def _search_subset(self, queries: np.ndarray, k: int, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A graph walk cannot find a few allowed nodes among many (recall 0.83 at 0.1% allowed, measured);
        scoring the allowed vectors one by one is exact and, for so few, fast."""
        scores, positions = ExactIndex(self.index.reconstruct_batch(ids)).search(queries, k)
        return scores, np.where(positions >= 0, ids[positions.clip(min=0)], -1)

    def _parameters(self, allowed: np.ndarray | None, bits: np.ndarray | None):
        """The knob for this search; with a filter, raised by ``filter_boost`` / (allowed share) and given a
        bitmap selector."""
        import faiss

        value = self.knob_value
        if allowed is not None:
            value = min(self.knob_limit, math.ceil(value * self.filter_boost / max(float(allowed.mean()), 1e-9)))
        extra = {} if bits is None else {"sel": faiss.IDSelectorBitmap(self.size, faiss.swig_ptr(bits))}
        return (faiss.SearchParametersIVF(nprobe=value, **extra) if self.knob == "nprobe"
                else faiss.SearchParametersHNSW(efSearch=value, **extra))

    def save(self, path: Path) -> None:
        import faiss

        with written_atomically(path) as tmp:
            faiss.write_index(self.index, str(tmp))
        _save_card(self.card, path)

    @classmethod
    def load(cls, path: Path, mmap: bool = True) -> "FaissIndex":
        """``mmap``: the codes stay in the file and are paged in as searched, so a large index is not held twice."""
        import faiss

        card = _load_card(path)
        if card is None or card.kind not in INDEX_KINDS:
            raise BadInput(f"{path} has no index card saying its kind; rebuild it with build_index(...).save(path)")
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP if mmap else 0)
        return cls(index, card.kind, int(card.params[INDEX_KINDS[card.kind].knob]), card)


def faiss_memory_bytes(index) -> int:
    """What the index holds in memory: its codes, ids or graph links, and its coarse quantizer."""
    import faiss

    if isinstance(index, faiss.IndexIVF):
        quantizer = faiss.downcast_index(index.quantizer)
        return int(index.ntotal * (index.code_size + 8) + quantizer.ntotal * quantizer.d * 4)
    if isinstance(index, faiss.IndexHNSW):
        hnsw = index.hnsw
        storage = faiss.downcast_index(index.storage)
        return int(storage.ntotal * storage.code_size + hnsw.neighbors.size() * 4 + hnsw.offsets.size() * 8
                   + hnsw.levels.size() * 4)
    return int(index.ntotal * index.d * 4)


# -- measuring ----------------------------------------------------------------------------------------
def recall_per_query(truth: np.ndarray, found: np.ndarray, k: int = RECALL_AT) -> np.ndarray:
    """Each query's share of its true top-k that the index returned in its top-k."""
    return np.asarray([len(set(t[:k]) & set(f[:k]) - {-1}) / max(1, len(set(t[:k]) - {-1}))
                       for t, f in zip(truth, found)], dtype=np.float64)


def recall_at(truth: np.ndarray, found: np.ndarray, k: int = RECALL_AT) -> float:
    """Mean share of each query's true top-k that the index returned in its top-k."""
    hits = recall_per_query(truth, found, k)
    return float(hits.mean()) if len(hits) else 0.0


def meets(per_query: np.ndarray, target_recall: float) -> bool:
    """Whether recall reaches the target with a margin of two standard errors of its mean: measured on a few
    hundred queries, a mean just at the target falls short on fresh queries half of the time."""
    if len(per_query) == 0:
        return False
    margin = float(per_query.std(ddof=1) / math.sqrt(len(per_query))) if len(per_query) > 1 else 0.0
    return float(per_query.mean()) - 2 * margin >= target_recall


def latency_ms(index: VectorIndex, queries: np.ndarray, k: int = RECALL_AT, allowed: np.ndarray | None = None,
               repeat: int = 1) -> np.ndarray:
    """Milliseconds per single query, one query at a time (what a shopper waits for)."""
    times = []
    for _ in range(repeat):
        for query in queries:
            start = time.perf_counter()
            index.search(query[None], k, allowed)
            times.append((time.perf_counter() - start) * 1000)
    return np.asarray(times)


def held_out_queries(vectors: np.ndarray, n: int = 200, noise: float = 0.5, seed: int = 0) -> np.ndarray:
    """Near-copies of stored vectors: sampled vectors moved off themselves by Gaussian noise of ``noise``
    times their own norm, renormalized. Easy queries (each has its origin among the vectors): good for
    testing filters and search mechanics, not for promising recall (build_index tunes on held-out points)."""
    rng = np.random.default_rng(seed)
    sample = np.asarray(vectors[np.sort(rng.choice(len(vectors), min(n, len(vectors)), replace=False))], np.float32)
    jitter = rng.standard_normal(sample.shape).astype(np.float32) * noise / math.sqrt(sample.shape[1])
    moved = sample + jitter
    return moved / np.linalg.norm(moved, axis=1, keepdims=True).clip(min=1e-12)


def tune(index: FaissIndex, queries: np.ndarray, truth: np.ndarray, target_recall: float,
         truth_vectors: np.ndarray, seed: int = 0) -> list[dict]:
    """Raise the index's knob until recall@10 reaches ``target_recall`` (:func:`meets`); returns the curve it
    measured (knob value, recall, met) and leaves the knob at the first value that met the target, else the best. Then
    :func:`tune_filter_boost` on ``truth_vectors`` (the indexed vectors)."""
    curve = []
    for value in INDEX_KINDS[index.kind].knob_values:
        if value > index.knob_limit:
            break
        index.set_knob(value)
        per_query = recall_per_query(truth, index.search(queries, RECALL_AT)[1])
        curve.append({index.knob: index.knob_value, "recall_at_10": float(per_query.mean()),
                      "met": meets(per_query, target_recall)})
        if curve[-1]["met"]:
            break
    best = next((p for p in curve if p["met"]), max(curve, key=lambda p: p["recall_at_10"]))
    index.set_knob(best[index.knob])
    tune_filter_boost(index, queries, truth_vectors, target_recall, seed)
    return curve


def tune_filter_boost(index: FaissIndex, queries: np.ndarray, vectors: np.ndarray, target_recall: float,
                      seed: int = 0, share: float = 0.1) -> None:
    """A filter moves a query's true neighbours outwards (the nearest *allowed* items are farther), so a
    filtered search needs more than 1 / share times the effort. Measure how much more on a random filter
    that allows ``share`` of the items, and keep the smallest boost that reaches the target."""
    allowed = np.random.default_rng(seed).random(index.size) < share
    truth = ExactIndex(vectors).search(queries, RECALL_AT, allowed)[1]
    for boost in (1, 2, 4, 8):
        index.filter_boost = index.card.params["filter_boost"] = boost
        if meets(recall_per_query(truth, index.search(queries, RECALL_AT, allowed)[1]), target_recall):
            break


def choose_kind(measured: dict[str, dict], target_recall: float, max_memory_bytes: int | None = None) -> str | None:
    """The rule ``build_index(kind="auto")`` follows, over measurements ``{kind: {"memory_bytes", "recall_at_10",
    "p50_ms"}}`` (and "met", when the
    target was met with :func:`meets`' margin): among the kinds within the budget (a last-resort kind only when nothing else is), the fastest
    that meets the target, else the most accurate; None when no kind is within the budget."""
    fits = [k for k in measured if k in INDEX_KINDS
            and (max_memory_bytes is None or measured[k]["memory_bytes"] <= max_memory_bytes)]
    if any(not INDEX_KINDS[k].last_resort for k in fits):
        fits = [k for k in fits if not INDEX_KINDS[k].last_resort]
    met = [k for k in fits if measured[k].get("met", measured[k]["recall_at_10"] >= target_recall)]
    if met:
        return min(met, key=lambda k: measured[k]["p50_ms"])
    return max(fits, key=lambda k: measured[k]["recall_at_10"]) if fits else None


def build_index(vectors: np.ndarray, kind: str = "auto", target_recall: float = 0.95,
                max_memory_bytes: int | None = None, queries: np.ndarray | None = None,
                kinds: tuple[str, ...] | None = None, exact_limit: int = EXACT_LIMIT, seed: int = 0) -> VectorIndex:
    """The index for ``vectors``: ``kind="auto"`` measures and chooses (module docstring), or name a kind of
    ``INDEX_KIND_NAMES`` to build that one, tuned to ``target_recall``. ``queries``: real queries to measure
    recall on (e.g. the catalog's text embeddings); without them, ``HELD_OUT`` of the vectors. ``kinds``
    limits what auto tries; ``exact_limit``: up to this many vectors, auto keeps exact search."""
    if kind not in INDEX_KIND_NAMES:
        raise BadInput(f"unknown index kind {kind!r}; choose one of {', '.join(INDEX_KIND_NAMES)}")
    if not 0 < target_recall <= 1:
        raise BadInput(f"target_recall must be in (0, 1], got {target_recall}")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) == 0:
        raise BadInput(f"vectors must be a non-empty (n, dim) array, got shape {vectors.shape}")
    n, dim = vectors.shape
    if kind == "exact" or (kind == "auto" and n <= exact_limit):
        return ExactIndex(vectors)

    start = time.perf_counter()
    if queries is None:  # tune on data points the candidates do not contain (module docstring)
        held = np.zeros(n, bool)
        held[np.random.default_rng(seed).choice(n, min(HELD_OUT, n // 10), replace=False)] = True
        queries, tuning_vectors = vectors[held], np.ascontiguousarray(vectors[~held])
    else:
        queries, tuning_vectors = _as_queries(queries), vectors
    truth = ExactIndex(tuning_vectors).search(queries, RECALL_AT)[1]
    names = [kind] if kind != "auto" else [k for k in (kinds or tuple(INDEX_KINDS))
                                           if max_memory_bytes is None or INDEX_KINDS[k].estimated_bytes(n, dim) <= max_memory_bytes]
    if kind == "auto" and any(not INDEX_KINDS[k].last_resort for k in names):
        names = [k for k in names if not INDEX_KINDS[k].last_resort]
    if not names:
        raise BadInput(f"no index kind fits {max_memory_bytes:,} bytes for {n:,} x {dim} vectors; the smallest is "
                       f"ivf-pq at about {INDEX_KINDS['ivf-pq'].estimated_bytes(n, dim):,} bytes")
    candidates, built = [], []
    for name in names:
        began = time.perf_counter()
        index = FaissIndex.build(tuning_vectors, name, seed=seed)
        curve = tune(index, queries, truth, target_recall, tuning_vectors, seed)
        recall = recall_at(truth, index.search(queries, RECALL_AT)[1])
        p50 = float(np.median(latency_ms(index, queries[:100])))
        memory = faiss_memory_bytes(index.index)
        candidates.append({"kind": name, "params": dict(index.card.params), "recall_at_10": round(recall, 4),
                           "met": any(point["met"] for point in curve),
                           "p50_ms": round(p50, 3), "memory_bytes": memory,
                           "build_seconds": round(time.perf_counter() - began, 2), "curve": curve})
        built.append(index)
    by_kind = {c["kind"]: c for c in candidates}
    kept = choose_kind(by_kind, target_recall, max_memory_bytes) or max(by_kind, key=lambda k: by_kind[k]["recall_at_10"])
    chosen = list(by_kind).index(kept)
    index, measured = built[chosen], candidates[chosen]
    if tuning_vectors is not vectors:  # the chosen kind over every vector, with the knobs tuned without some
        index = index.rebuilt_over(vectors, seed)
    index.card = IndexCard(index.kind, dict(measured["params"]), n, dim, measured["recall_at_10"], len(queries),
                           faiss_memory_bytes(index.index), round(time.perf_counter() - start, 2), measured["p50_ms"],
                           target_recall, max_memory_bytes, candidates)
    return index


def load_index(path: str | Path, mmap: bool = True) -> VectorIndex:
    """An index that :meth:`save` wrote, memory-mapped by default; the kind comes from its card (or suffix)."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"no index at {path}; build one with build_index(vectors).save(path)")
    if path.suffix == ".npy":
        return ExactIndex.load(path, mmap)
    return FaissIndex.load(path, mmap)


def card_path(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + ".card.json")


def _save_card(card: IndexCard, path: Path) -> None:
    with written_atomically(card_path(path)) as tmp:
        tmp.write_text(json.dumps(card.to_dict(), indent=1))


def _load_card(path: Path) -> IndexCard | None:
    try:
        return IndexCard.from_dict(json.loads(card_path(path).read_text()))
    except (OSError, ValueError, TypeError):
        return None
