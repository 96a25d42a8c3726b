"""Notebooks run top to bottom with their fast parameters, and their recorded results make sense.

Like Microsoft Recommenders' notebook tests: execute, then read the numbers the notebook printed in its
``results`` cell, so a notebook that silently produces nonsense fails.
"""

import json
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTATIONS = {  # notebook -> check of its RESULTS_JSON
    "01_item_understanding.ipynb": lambda r: r["n"] > 0 and r["grocery_top5"] > 0.7 and r["grocery_top1"] > 0.4,
    "02_bundle_recommendation.ipynb": lambda r: r["crosscbr"] > 0.1 and r["popularity"] > 0.1
    and r["cold_crosscbr"] > r["cold_lightgcn"],
    "00_quick_start.ipynb": lambda r: r["hits"] == 4 and r["photo_top1"] == "Granny-Smith" and r["plan_steps"] >= 1,
    "06_end_to_end_assistant.ipynb": lambda r: r["turns"] == 8 and r["tools"][:4] == ["search", "item_info", "add", "complete"]
    and r["tools"][6:] == ["image_search", "search"],
    "03_llm_planning.ipynb": lambda r: r["all_in_catalog"] and r["steps"] >= 1 and r["calls"] >= 1,
    "04_llm4rec_paradigms.ipynb": lambda r: r["rows"] == 7 and abs(r["position_sum"] - 1) < 1e-6 and r["metrics_ok"],
    "05_speech_and_imagery.ipynb": lambda r: r["wer"] < 0.3 and r["last_loss"] < r["first_loss"] and r["labelled"],
}


def notebooks():
    return sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


@pytest.mark.parametrize("name", notebooks())
def test_notebook_follows_the_house_layout(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    cells = nb.cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ") and "Learning goals" in cells[0].source
    assert sum("parameters" in c.metadata.get("tags", []) for c in cells) == 1
    headings = [c.source.splitlines()[0] for c in cells if c.cell_type == "markdown"]
    assert any(h.startswith("## 0 ") for h in headings) and any(h.startswith("## 1 ") for h in headings)
    assert any(h.startswith("## References") for h in headings)
    assert any("solution" in c.metadata.get("tags", []) and c.metadata.get("jupyter", {}).get("source_hidden") for c in cells)
    assert any("results" in c.metadata.get("tags", []) for c in cells)
    assert any("plt." in c.source for c in cells if c.cell_type == "code"), "every notebook has at least one plot"
    assert all(not c.get("outputs") for c in cells if c.cell_type == "code"), "commit notebooks with outputs stripped"


@pytest.mark.notebooks
@pytest.mark.slow
@pytest.mark.parametrize("name", notebooks())
def test_notebook_runs_and_records_sane_results(name, lit_encoder):
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    results_cell = next(c for c in nb.cells if "results" in c.metadata.get("tags", []))
    text = "".join(o.get("text", "") for o in results_cell.outputs)
    results = json.loads(re.search(r"RESULTS_JSON (.*)", text).group(1))
    assert EXPECTATIONS[name](results), results
