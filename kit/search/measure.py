"""Measurements of the vector indexes, as numbers (the benchmark and notebook 08 render them).

- :func:`index_curves`: every index kind at one size: build time, memory, and recall@10 / latency at each
  value of its search knob, the operating point that first reaches the target, and batched throughput there.
- :func:`auto_choice`: what ``build_index(kind="auto")`` would pick from those measurements.
- :func:`filtered_search`: recall and latency of a filtered search at several allowed shares.
"""

from __future__ import annotations

import time

import numpy as np

from kit.search.index import (INDEX_KINDS, RECALL_AT, ExactIndex, FaissIndex, choose_kind, faiss_memory_bytes,
                              latency_ms, recall_at)


def index_curves(vectors: np.ndarray, queries: np.ndarray, kinds: tuple[str, ...] = tuple(INDEX_KINDS),
                 target_recall: float = 0.95, latency_queries: int = 200, stop_at: float = 0.995) -> dict:
    """``{"exact": {...}, kind: {...}}`` for ``vectors`` searched by ``queries`` (rows: real queries)."""
    exact = ExactIndex(vectors)
    started = time.perf_counter()
    truth = exact.search(queries, RECALL_AT)[1]
    batch_seconds = time.perf_counter() - started
    single = latency_ms(exact, queries[:min(50, latency_queries)])
    out = {"exact": {"build_seconds": 0.0, "memory_bytes": int(vectors.nbytes), "recall_at_10": 1.0,
                     "p50_ms": float(np.median(single)), "p99_ms": float(np.percentile(single, 99)),
                     "batched_qps": len(queries) / batch_seconds, "params": {}, "curve": []}}
    for kind in kinds:
        began = time.perf_counter()
        index = FaissIndex.build(vectors, kind)
        build_seconds = time.perf_counter() - began
        curve = []
        for value in INDEX_KINDS[kind].knob_values:
            if value > index.knob_limit:
                break
            index.set_knob(value)
            recall = recall_at(truth, index.search(queries, RECALL_AT)[1])
            curve.append({"knob": value, "recall_at_10": recall,
                          "p50_ms": float(np.median(latency_ms(index, queries[:latency_queries])))})
            if recall >= stop_at:
                break
        point = next((p for p in curve if p["recall_at_10"] >= target_recall), curve[-1])
        index.set_knob(point["knob"])
        times = latency_ms(index, queries[:latency_queries], repeat=2)
        started = time.perf_counter()
        index.search(queries, RECALL_AT)
        qps = len(queries) / (time.perf_counter() - started)
        out[kind] = {"build_seconds": build_seconds, "memory_bytes": faiss_memory_bytes(index.index),
                     "recall_at_10": point["recall_at_10"], "p50_ms": float(np.median(times)),
                     "p99_ms": float(np.percentile(times, 99)), "batched_qps": qps,
                     "params": {INDEX_KINDS[kind].knob: point["knob"]}, "curve": curve}
        del index
    return out


def auto_choice(measured: dict, target_recall: float = 0.95, max_memory_bytes: int | None = None) -> str | None:
    """What ``build_index(kind="auto")`` picks from these measurements (:func:`kit.search.index.choose_kind`)."""
    return choose_kind(measured, target_recall, max_memory_bytes)


def filtered_search(index: FaissIndex, vectors: np.ndarray, queries: np.ndarray,
                    shares: tuple[float, ...] = (0.1, 0.01, 0.001), seed: int = 0) -> list[dict]:
    """Recall@10 against exact filtered search, and single-query latency, for random filters."""
    exact, rows = ExactIndex(vectors), []
    for share in shares:
        allowed = np.random.default_rng(seed).random(len(vectors)) < share
        truth = exact.search(queries, RECALL_AT, allowed)[1]
        found = index.search(queries, RECALL_AT, allowed)[1]
        times = latency_ms(index, queries[:100], allowed=allowed)
        rows.append({"share": share, "allowed": int(allowed.sum()), "recall_at_10": recall_at(truth, found),
                     "p50_ms": float(np.median(times)), "only_allowed": bool(allowed[found[found >= 0]].all())})
    return rows
