"""Run the lessons: execute each notebook's jupytext source in the ``shopkit`` kernel and check its numbers.

    python tools/notebooks.py              # make workshop-check: run every lesson, print times and checks
    python tools/notebooks.py --write      # make notebooks: also save the executed .ipynb (outputs, plots)
    python tools/notebooks.py 03_llm_planning --write

The ``.py`` (percent format) is the source; the ``.ipynb`` next to it is the executed copy a learner opens
first. Each executed copy records the digest of the code it ran, so the tests notice when the source moved
on without it, and of the kit code it ran (:func:`kit_digest`), so they also notice when the kit moved on under
it. ``LESSONS`` is the one table of notebooks: the runner, the tests, notebooks/README.md and
the workshop guide read it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
KERNEL = "shopkit"
SOLUTION = re.compile(r"```python\n(.*?)```", re.S)
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colours in a kernel's traceback


@dataclass(frozen=True)
class Lesson:
    """One notebook: what it teaches, the data it needs, and the floor its recorded results must clear."""

    stem: str
    teaches: str
    data: tuple[str, ...]
    check: Callable[[dict], bool]
    expected: str  # the check in words, for the teacher's table of expected outputs
    # smaller values of some parameters that the tests run with: the same code path and the same check, in less
    # time (as Microsoft Recommenders' tests run their notebooks with papermill parameters)
    test_parameters: dict = field(default_factory=dict)

    @property
    def source(self) -> Path:
        return NOTEBOOKS / f"{self.stem}.py"

    @property
    def executed(self) -> Path:
        return NOTEBOOKS / f"{self.stem}.ipynb"


LESSONS = (
    Lesson("00_quick_start", "search by text and photo, a grounded plan, what goes with a basket", ("grocery_store",),
           lambda r: "Granny-Smith" in r["hit_ids"] and "Granny-Smith" in r["photo_top3"] and r["plan_steps"] >= 1,
           "Granny-Smith is among the 4 hits for 'green apples' (4 random items of 81 hold it 5% of the time); a "
           "shopper's store photo of a Granny Smith finds Granny-Smith in the top 3; a plan with >= 1 step"),
    Lesson("01_item_understanding", "train a CLIP-style aligner (LiT), zero-shot labels, dense/BM25/hybrid search, "
           "attribute heads that fill missing labels", ("grocery_store", "fashion_products"),
           lambda r: r["n"] > 0 and r["grocery_top5"] > 0.7 and r["grocery_top1"] > 0.4 and r["ft_top1"] > 0.4
           and [c[0] for c in r["curve"]] == [0, *r["ft_stages"]] and len(r["enrich"]) == 4
           and all(e["accuracy"] > e["majority"] + 0.05 for e in r["enrich"].values()),
           "grocery photo -> product top-1 > 0.4 and top-5 > 0.7 on the test photos, for the fine-tuned model too; "
           "a curve point for the heads-only step and one per unfrozen-stage run; four attribute heads, each 0.05 "
           "above its majority label",
           # the tests run the two-stage point only (the one-stage recipe is tests/test_finetune.py's): ~60 s less
           test_parameters={"EVAL_PHOTOS": 100, "FT_STAGES": (2,), "FT_EPOCHS": 3, "FT_GROCERY_PHOTOS": 400,
                            "FT_FASHION_ITEMS": 150, "ENRICH_ITEMS": 1_500}),
    Lesson("02_bundle_recommendation", "LightGCN and CrossCBR on the Youshu graph, completion, cold bundles", ("youshu",),
           lambda r: max(r["crosscbr"], r["lightgcn"]) > r["popularity"] and r["cold_crosscbr"] > r["cold_lightgcn"],
           "a trained graph model (LightGCN or CrossCBR) beats popularity's Recall@20; on cold bundles CrossCBR "
           "beats LightGCN"),
    Lesson("03_llm_planning", "structured output, needs drawn from the catalog (before/after on the planning "
           "benchmark), streamed steps, steering, the trace", ("grocery_store",),
           lambda r: r["all_in_catalog"] and r["steps"] >= 1 and r["calls"] >= 1 and r["after_items"] >= 2
           and r["after_in_candidates"],
           "every basket item is a catalog item; >= 1 step; >= 1 model call in the trace; every constrained plan "
           "has >= 2 items, all from the six candidate categories",
           test_parameters={"BENCHMARK_GOALS": 1}),
    Lesson("04_llm4rec_paradigms", "four ways to use an LLM for recommendation, position and popularity bias",
           ("amazon_scientific",),
           lambda r: r["rows"] == 7 and r["mrr"]["1 embeddings + kNN"] > r["mrr"]["popularity"]
           and r["mrr"]["1 embeddings + kNN"] > r["mrr"]["random"],
           "7 rows (4 paradigms + baselines); embeddings + kNN ranks the real next item higher (MRR) than popularity "
           "and random do",
           test_parameters={"N_USERS": 3, "N_SHUFFLES": 1, "N_FIT_USERS": 2}),  # MRR: embeddings 0.72, popularity 0.27
    Lesson("05_speech_and_imagery", "whisper, its word error rate, the catalog's bias, a voice, a small diffusion model, labels, products drawn from labels",
           ("grocery_store", "fashion_products"),
           lambda r: r["wer"] < 0.3 and r["entities_biased"] > r["entities_plain"] and r["wer_biased"] < r["wer_plain"]
           and r["last_loss"] < r["first_loss"] and r["labelled"] and r["fashion_read"],
           "WER < 0.3 on the spoken request; the catalog bias raises entity accuracy and lowers WER; diffusion loss "
           "goes down; generated files carry the label; a request in words becomes the fashion model's labels",
           test_parameters={"TRAIN_STEPS": 30, "FASHION_STEPS": 20}),
    Lesson("06_end_to_end_assistant", "the assistant turn by turn: text, photo, voice, state and trace; shopping tasks",
           ("grocery_store",),
           lambda r: r["turns"] == 8 and r["tools"][:4] == ["search", "item_info", "add", "complete"]
           and r["tools"][6:] == ["image_search", "search"] and r["tasks_run"] == 10 and r["task_success"] >= 0.5
           and r["failures_explained"],
           "8 turns; tools search, item_info, add, complete ... image_search, search; 10 grocery shopping tasks, at "
           "least half finished, every failure with its reason and transcript"),
    Lesson("07_semantic_ids", "item texts -> codes (residual k-means, RQ-VAE), SASRec vs generative retrieval",
           ("amazon_scientific",),
           lambda r: r["unique_ids"] == r["items"] and r["rqvae_collided"] < r["kmeans_collided"]
           and r["sasrec"] > r["popularity"] and r["tiger"] > r["popularity"] and r["invalid_constrained"] == 0,
           "every item has a unique ID; the RQ-VAE collides less than k-means; SASRec and the generator beat "
           "popularity; constrained beams name only real items",
           test_parameters={"SASREC_EPOCHS": 1, "EVAL_USERS": 100, "TIGER_VALID_USERS": 50}),
    Lesson("08_scale", "a resumable embedding job into Parquet shards (local or Ray), recall-latency curves, the "
           "index card, filters", ("grocery_store", "amazon_scientific"),
           lambda r: r["shards"] == 3 and r["resumed_only"] == [1] and r["same_after_resume"] and r["recall"] >= 0.95
           and r["filtered_only_allowed"] and r["filtered_recall_min"] >= 0.9,
           "3 shards; a rerun embeds only the deleted shard, with the same vectors; the chosen index reaches "
           "recall@10 >= 0.95; filtered searches return only allowed items with recall@10 >= 0.9",
           test_parameters={"SOURCE_ITEMS": 1_000, "VECTORS": 15_000}),
    Lesson("09_simulated_shoppers", "simulated shoppers (a choice model and an LLM agent), a simulated A/B test, its "
           "validation against real purchases, the accuracy-diversity curve", ("amazon_scientific",),
           lambda r: r["hit_rate"] > r["chance"] and (r["kendall_tau"] or 0) > 0
           and r["offline_co_purchase"] > r["offline_random"] and len(r["llm_actions"]) >= 1
           and set(r["llm_actions"]) <= {"click", "basket", "skip", "leave"} and r["diversity_up"]
           and r["recall_last"] < r["recall_first"],
           "the choice model picks the real next purchase above chance; its ranking of the policies agrees with "
           "offline recall (Kendall tau > 0); co-purchase beats "
           "random offline; the LLM gives valid actions; diversity rises and Recall@20 falls along the curve",
           test_parameters={"OFFLINE_USERS": 1_500, "CURVE_USERS": 500}),
    Lesson("10_generated_copy", "product copy from an item's facts, checked against its labels (template vs LLM, "
           "before and after the retry), the explanation behind a search, a completion, a plan and a next item",
           ("fashion_products", "grocery_store", "amazon_scientific"),
           lambda r: r["template_rate"] == 0 and r["planted_caught"] and r["labelled"] and r["search_why"]
           and r["completion_why"] and r["plan_why"] and r["sequence_why"]
           and r["median_rank_only_named"] < r["median_rank_only_other"],
           "the template states no wrong fact and a planted wrong colour is caught; every text is labelled "
           "generated; every search hit, completion, plan item and next item has a reason; the history item an "
           "explanation names keeps the recommendation higher on its own than another history item does",
           test_parameters={"ITEMS": 2, "TEMPLATE_ITEMS": 50}),
)


def read_source(lesson: Lesson):
    import jupytext

    return jupytext.read(lesson.source)


def code_digest(nb) -> str:
    """What an executed copy was produced from: the code cells, in order."""
    code = "\0".join(c.source for c in nb.cells if c.cell_type == "code")
    return hashlib.sha256(code.encode("utf-8")).hexdigest()[:16]


def kit_modules(nb) -> list[str]:
    """The kit modules a notebook runs: those its code imports, and everything they import from the kit in
    turn (read from the source files, nothing is imported). Solutions count too: a learner runs them."""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code") + "\n" + "\n".join(solutions(nb))
    seen, todo = set(), _kit_imports(code, "")
    while todo:
        name = todo.pop()
        path = _module_path(name)
        if path is None or name in seen:
            continue
        seen.add(name)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        todo |= _kit_imports(path.read_text(encoding="utf-8"), package)
    return sorted(seen)


def kit_digest(nb) -> dict[str, str]:
    """``{module: digest of its source}`` for :func:`kit_modules`: an executed copy records it, and the tests call
    the copy stale when a module it ran has changed since (its numbers might no longer be what the kit gives)."""
    return {name: _behaviour_digest(_module_path(name)) for name in kit_modules(nb)}


def _behaviour_digest(path: Path) -> str:
    """A digest of a module's code without its comments, docstrings and layout: mending a docstring does not make
    every executed notebook stale, changing a line of code does."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(
                getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode("utf-8")).hexdigest()[:12]


def _module_path(name: str) -> Path | None:
    base = NOTEBOOKS.parent.joinpath(*name.split("."))
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def _kit_imports(code: str, package: str) -> set[str]:
    """Kit modules named by ``import kit.x`` / ``from kit.x import y`` / ``from .x import y`` in ``code`` (also
    inside functions: lazy imports run too). ``from kit.x import y`` adds ``kit.x.y`` when that is a module."""
    import ast

    try:
        tree = ast.parse(code)
    except SyntaxError:  # a notebook cell with shell magics: fall back to the lines that import
        tree = ast.parse("\n".join(line for line in code.splitlines() if line.lstrip().startswith(("import ", "from "))))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name == "kit" or a.name.startswith("kit.")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            if base == "kit" or base.startswith("kit."):
                found.add(base)
                found |= {f"{base}.{a.name}" for a in node.names if _module_path(f"{base}.{a.name}")}
    # a package's __init__ runs before any of its modules
    return found | {".".join(name.split(".")[:i]) for name in found for i in range(1, name.count(".") + 1)}


def recorded_results(nb) -> dict:
    """The numbers the ``results`` cell printed (``RESULTS_JSON {...}``)."""
    cell = next(c for c in nb.cells if "results" in c.metadata.get("tags", []))
    text = "".join(o.get("text", "") for o in cell.get("outputs", []))
    found = re.search(r"RESULTS_JSON (.*)", text)
    if not found:
        raise ValueError("the results cell printed no RESULTS_JSON line")
    return json.loads(found.group(1))


def solutions(nb) -> list[str]:
    """The code of the collapsed solutions (markdown cells tagged ``solution``, never run by Run All)."""
    return [code for c in nb.cells if "solution" in c.metadata.get("tags", []) for code in SOLUTION.findall(c.source)]


def with_parameters(nb, parameters: dict) -> None:
    """Override some parameters in place: a cell right after the one tagged ``parameters`` assigns them (what
    papermill injects). Only names the parameters cell defines can be overridden."""
    import nbformat

    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    defined = set(re.findall(r"^([A-Z_][A-Z0-9_]*)\s*=", nb.cells[at].source, re.M))
    unknown = set(parameters) - defined
    if unknown:
        raise ValueError(f"not parameters of this notebook: {sorted(unknown)}; it has {sorted(defined)}")
    cell = nbformat.v4.new_code_cell("\n".join(f"{name} = {value!r}" for name, value in parameters.items()))
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(at + 1, cell)


def execute(nb, with_solutions: bool = False, timeout: int = 900, parameters: dict | None = None) -> float:
    """Run ``nb`` in place in the shopkit kernel from notebooks/; returns the seconds it took. ``parameters``
    override the parameters cell (:func:`with_parameters`)."""
    import nbformat
    from nbclient import NotebookClient

    if parameters:
        with_parameters(nb, parameters)
    if with_solutions:
        nb.cells.extend(nbformat.v4.new_code_cell(code) for code in solutions(nb))
    started = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name=KERNEL, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return time.perf_counter() - started


def write_executed(lesson: Lesson, nb, seconds: float) -> None:
    """Save the executed copy; progress bars collapse to their last state (as JupyterLab shows them)."""
    import jupytext
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    CoalesceStreamsPreprocessor().preprocess(nb, {})
    nb.metadata["shopkit"] = {"code_digest": code_digest(nb), "kit_digest": kit_digest(nb), "run_seconds": round(seconds)}
    jupytext.write(nb, lesson.executed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook stems (default: all)")
    parser.add_argument("--write", action="store_true", help="save the executed notebooks next to their sources")
    args = parser.parse_args(argv)
    chosen = [lesson for lesson in LESSONS if not args.names or lesson.stem in args.names]
    unknown = set(args.names) - {lesson.stem for lesson in LESSONS}
    if unknown:
        parser.error(f"unknown notebooks {sorted(unknown)}; choose from {[lesson.stem for lesson in LESSONS]}")
    failed, total = [], 0.0
    print(f"{'notebook':28} {'seconds':>7}  result")
    for lesson in chosen:
        nb = read_source(lesson)
        try:
            seconds = execute(nb)
            ok = lesson.check(recorded_results(nb))
        except Exception as error:  # noqa: BLE001 - a runner reports every notebook, then fails once
            message = ANSI.sub("", str(error)).strip()[-600:]
            print(f"{lesson.stem:28} {'-':>7}  FAILED: {type(error).__name__}: {message}")
            failed.append(lesson.stem)
            continue
        total += seconds
        print(f"{lesson.stem:28} {seconds:7.0f}  {'ok' if ok else 'UNEXPECTED: ' + lesson.expected}", flush=True)
        if not ok:
            failed.append(lesson.stem)
        elif args.write:
            write_executed(lesson, nb, seconds)
    print(f"{'total':28} {total:7.0f}  {len(chosen) - len(failed)}/{len(chosen)} as expected")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
