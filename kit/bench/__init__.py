"""``make bench``: measure, then rewrite docs/benchmarks.md. A benchmark measures; tests assert behaviour.

One module per section; each section is a function ``(quick) -> Section`` (kit/bench/records.py) that
returns numbers, settings, targets and the prose around them. ``kit.bench.render`` is the one place that
writes markdown, figures, model cards and the JSON records (docs/bench/NAME.json). ``quick=True`` uses
small subsets for a smoke run; the committed file comes from a full run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kit.bench.assistant import assistant
from kit.bench.beyond import beyond_accuracy_table
from kit.bench.bundles import bundle_recommendation
from kit.bench.copywriting import generated_copy
from kit.bench.demo import demo_start
from kit.bench.embedding import scale_embedding
from kit.bench.enrich import catalog_enrichment
from kit.bench.explain import explanations
from kit.bench.finetune import fine_tuned_towers
from kit.bench.imagery import imagery
from kit.bench.items import item_understanding
from kit.bench.llm import llm_paradigms
from kit.bench.planning import planning
from kit.bench.records import Section
from kit.bench.render import write_benchmarks
from kit.bench.rerank import rerank_tradeoff
from kit.bench.sasrec import sasrec_ablation
from kit.bench.scale import scale
from kit.bench.search import search_quality
from kit.bench.semids import semantic_ids
from kit.bench.simulate import simulated_shoppers
from kit.bench.speech import speech
from kit.bench.tasks import shopping_tasks
from kit.bench.tuned_llm import tuned_llm

# name (for --only) -> the section; the order is the file's order
SECTIONS: dict[str, Callable[[bool], Section]] = {
    "items": item_understanding, "finetune": fine_tuned_towers, "enrich": catalog_enrichment, "search": search_quality,
    "bundles": bundle_recommendation, "semids": semantic_ids, "sasrec": sasrec_ablation,
    "scale": scale, "scale-embedding": scale_embedding,
    "rerank": rerank_tradeoff, "beyond": beyond_accuracy_table, "simulate": simulated_shoppers,
    "copy": generated_copy, "explain": explanations, "llm": llm_paradigms, "tuned-llm": tuned_llm, "planning": planning,
    "speech": speech,
    "imagery": imagery, "assistant": assistant, "tasks": shopping_tasks, "demo": demo_start,
}


def run_benchmarks(out: str | Path = "docs/benchmarks.md", quick: bool = False, only: str | None = None) -> str:
    """Run every section (or ``only`` one, keeping the others' last text) and rewrite ``out``."""
    records = {name: section(quick) if only in (None, name) else None for name, section in SECTIONS.items()}
    return write_benchmarks(records, Path(out))


__all__ = ["SECTIONS", "Section", "run_benchmarks"]
