"""Scale (issue 19): every index kind at two sizes grown from real embeddings, filters and memory-mapped loading."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from kit.bench.records import Figure, Line, Panel, Section, Table, Text
from kit.bench.roles import LABELLED, PHOTOS

HELD_OUT = 1000  # labelled items held out of the index: their titles and photos are the queries
TARGET_RECALL = 0.95
MEMORY_BUDGET = 10**9


def scale_vectors(seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """Real item vectors to grow from, and real held-out queries: the held-out items' title embeddings (half)
    and their photos' embeddings (the rest with photos)."""
    from kit.bundled_catalogs import open_catalog
    from kit.clip.embed import embed_catalog
    from kit.clip.encoder import ItemEncoder

    encoder = ItemEncoder.from_pretrained()
    labelled = embed_catalog(open_catalog(LABELLED), encoder)
    photos = embed_catalog(open_catalog(PHOTOS), encoder)
    order = np.random.default_rng(seed).permutation(len(labelled.ids))
    held, kept = order[:HELD_OUT], order[HELD_OUT:]
    titles = held[: HELD_OUT // 2]
    pictured = held[HELD_OUT // 2:][labelled.has_image[held[HELD_OUT // 2:]]]
    queries = np.vstack([labelled.text[titles], labelled.image[pictured]])
    real = np.vstack([labelled.item_vectors("fused")[kept], photos.item_vectors("fused")])
    return real, queries, encoder.fingerprint


def index_memory_after_load(path: Path, mmap: bool) -> float:
    """MB of resident memory a fresh process gains by loading ``path`` and answering one query."""
    code = ("import sys, numpy as np, psutil, faiss; from kit.search.index import load_index; "
            "p = psutil.Process(); before = p.memory_info().rss; "
            f"index = load_index(sys.argv[1], mmap={mmap}); d = index.card.dim; "
            "index.search(np.ones((1, d), np.float32) / d ** 0.5, 10); "
            "print((p.memory_info().rss - before) / 2**20)")
    run = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    return float(run.stdout.strip().splitlines()[-1])


def scale(quick: bool = False) -> Section:
    from kit.scale.synthetic import grow_vectors
    from kit.search.index import INDEX_KINDS, FaissIndex, tune_filter_boost
    from kit.search.measure import auto_choice, filtered_search, index_curves

    sizes = (20_000, 100_000) if quick else (100_000, 1_000_000)
    real, queries, model = scale_vectors()
    titles = HELD_OUT // 2
    blocks: list = [Text(
        f"faiss with {os.cpu_count()} threads. Vectors: the default encoder's ({model}, {real.shape[1]} dimensions) fused "
        f"item vectors of {len(real):,} real items ({LABELLED} minus {HELD_OUT:,} held-out items, plus {PHOTOS}), grown "
        "to each size by `kit.scale.synthetic.grow_vectors`: x = normalize(lam v_i + (1 - lam) v_j + 0.1 eps), lam ~ "
        "U(0, 1), v_j one of v_i's 10 nearest real items, eps ~ N(0, I/d). Queries: the held-out items' real titles "
        f"({titles} text embeddings) and photos ({len(queries) - titles} image embeddings). Recall@10 is against exact "
        f"search over the same vectors. Each approximate kind's knob (nprobe / efSearch) is the first value that reaches "
        f"recall@10 {TARGET_RECALL} on these queries; p50/p99 are single queries; QPS is one batch of all "
        f"{len(queries):,} queries.")]
    panels, numbers, largest = [], {}, None
    for size in sizes:
        vectors = grow_vectors(real, size)
        measured = index_curves(vectors, queries)
        numbers[size] = measured
        rows = [[kind, ", ".join(f"{k}={v}" for k, v in m["params"].items()) or "-", f"{m['recall_at_10']:.3f}",
                 f"{m['p50_ms']:.2f}", f"{m['p99_ms']:.2f}", f"{m['batched_qps']:,.0f}",
                 f"{m['memory_bytes'] / 2**20:,.0f}", f"{m['build_seconds']:.1f}"] for kind, m in measured.items()]
        chosen, chosen_in_budget = auto_choice(measured), auto_choice(measured, max_memory_bytes=MEMORY_BUDGET)
        blocks += [Table(["index", "knob", "recall@10", "p50 ms", "p99 ms", "batched QPS", "memory MiB", "build s"], rows,
                         title=f"{size:,} vectors"),
                   Text(f"`build_index(kind=\"auto\")` picks **{chosen}**; with `max_memory_bytes={MEMORY_BUDGET:.0e}`, "
                        f"**{chosen_in_budget}**.")]
        panels.append(Panel([Line(kind, [p["p50_ms"] for p in m["curve"]], [p["recall_at_10"] for p in m["curve"]])
                             for kind, m in measured.items() if m["curve"]],
                            xlabel="p50 ms per query (log)", ylabel="recall@10", title=f"{size:,} vectors", xlog=True,
                            ylim=(0.5, 1.005), reference_y=TARGET_RECALL))
        largest = (size, vectors, measured, chosen_in_budget)
    blocks.append(Figure("scale_recall_latency.png", "recall against latency for every index kind", panels))

    size, vectors, measured, kind = largest
    if kind is not None:
        index = FaissIndex.build(vectors, kind)
        index.set_knob(measured[kind]["params"][INDEX_KINDS[kind].knob])
        tune_filter_boost(index, queries, vectors, TARGET_RECALL)
        filtered = filtered_search(index, vectors, queries)
        rows = [[f"{r['share']:.1%}", f"{r['allowed']:,}", f"{r['recall_at_10']:.3f}", f"{r['p50_ms']:.2f}",
                 "yes" if r["only_allowed"] else "NO"] for r in filtered]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "items.faiss"
            index.save(path)
            mapped, loaded = index_memory_after_load(path, True), index_memory_after_load(path, False)
        numbers["filtered"] = filtered
        numbers["load_mb"] = {"mapped": mapped, "read": loaded}
        blocks += [Text(f"### Filters and loading, {size:,} vectors, {kind}\nA filter is a faiss bitmap ID selector; "
                        f"the knob is raised by filter_boost ({index.filter_boost}, measured at build time on a 10% filter) "
                        "/ allowed share. Random filters:"),
                   Table(["allowed share", "allowed items", "recall@10 vs exact filtered", "p50 ms", "only allowed items"], rows),
                   Text(f"Resident memory a fresh process gains by loading the index and answering one query: {loaded:,.0f} "
                        f"MB read into memory, {mapped:,.0f} MB memory-mapped (`load_index(path)`, the default; the index "
                        f"is {measured[kind]['memory_bytes'] / 2**20:,.0f} MiB).")]
    return Section(title="Scale", blocks=blocks, quick=quick, numbers=numbers,
                   settings={"sizes": list(sizes), "target_recall": TARGET_RECALL, "model": model})
