"""The notebooks are lessons: jupytext sources, executed copies that match them, and numbers that make sense.

Like Microsoft Recommenders' notebook tests: execute, then read the numbers the notebook printed in its
``results`` cell, so a notebook that silently produces nonsense fails. The table of lessons and the
runner live in tools/notebooks.py (what `make notebooks` and `make workshop-check` run).
"""

import importlib.util
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("lesson_runner", ROOT / "tools" / "notebooks.py")
runner = sys.modules.setdefault("lesson_runner", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(runner)
LESSONS = {lesson.stem: lesson for lesson in runner.LESSONS}


def test_every_notebook_is_in_the_lesson_table_and_paired():
    sources = {p.stem for p in runner.NOTEBOOKS.glob("*.py")}
    executed = {p.stem for p in runner.NOTEBOOKS.glob("*.ipynb")}
    assert sources == set(LESSONS), "a notebook source without a row in tools/notebooks.py LESSONS (or the reverse)"
    assert executed == sources, "every .py lesson has its executed .ipynb next to it (make notebooks)"
    readme = (runner.NOTEBOOKS / "README.md").read_text()
    workshop = (ROOT / "docs" / "workshop.md").read_text()
    for stem, lesson in LESSONS.items():
        assert stem in readme and stem in workshop
        assert lesson.expected in workshop, "the guide's expected-outputs table shows the tests' floors"


@pytest.mark.parametrize("stem", sorted(LESSONS))
def test_notebook_is_a_lesson(stem):
    cells = runner.read_source(LESSONS[stem]).cells
    text = [c.source for c in cells if c.cell_type == "markdown"]
    first = cells[0].source
    assert first.startswith("# ") and "Learning goals" in first and "**Data:**" in first
    assert sum("parameters" in c.metadata.get("tags", []) for c in cells) == 1
    headings = [t.splitlines()[0] for t in text]
    assert any(h.startswith("## 0 ") for h in headings) and any(h.startswith("## 1 ") for h in headings)
    assert any(h.startswith("## References") for h in headings)
    assert sum("What you should see" in t for t in text) >= 3, "say what the learner should see after a step"
    assert any("Predict before you run" in t for t in text) or any("Predict first" in t for t in text)
    code = [c for c in cells if c.cell_type == "code"]
    assert any("plt." in c.source for c in code), "every notebook has at least one plot"
    assert not any(re.search(r"^\s*(def|class) ", c.source, re.M) for c in code), "logic belongs in kit/, not here"
    assert "results" in cells[-1].metadata.get("tags", []) and cells[-1].cell_type == "code", "results cell last"
    # The exercise: an empty "your turn" cell, then the solution as collapsed markdown (never run by Run All).
    solution_at = [i for i, c in enumerate(cells) if "solution" in c.metadata.get("tags", [])]
    assert solution_at and all(cells[i].cell_type == "markdown" and "<details>" in cells[i].source for i in solution_at)
    assert all(cells[i - 1].cell_type == "code" and cells[i - 1].source.startswith("# Your turn") for i in solution_at)
    assert runner.solutions(runner.read_source(LESSONS[stem])), "the solution holds a ```python block"


@pytest.mark.parametrize("stem", sorted(LESSONS))
def test_executed_copy_matches_its_source_and_shows_results(stem):
    lesson = LESSONS[stem]
    source = runner.read_source(lesson)
    executed = nbformat.read(lesson.executed, as_version=4)
    assert [(c.cell_type, c.source) for c in executed.cells] == [(c.cell_type, c.source) for c in source.cells], \
        f"{lesson.executed.name} and {lesson.source.name} are out of sync: run `jupytext --sync` or `make notebooks`"
    recorded = executed.metadata.get("shopkit", {})
    assert recorded.get("code_digest") == runner.code_digest(source), f"outputs are from older code: `make notebooks`"
    ran = recorded.get("kit_digest", {})
    changed = sorted(name for name, digest in runner.kit_digest(source).items() if ran.get(name) != digest)
    assert not changed, (f"outputs are from older kit code ({', '.join(changed[:6])} changed since they ran): "
                         f"`python tools/notebooks.py {stem} --write`")
    counts = [c.execution_count for c in executed.cells if c.cell_type == "code"]
    assert all(counts) and counts == sorted(counts), "every code cell ran, top to bottom"
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the plots are in the executed copy"
    assert lesson.check(runner.recorded_results(executed)), lesson.expected


@pytest.mark.notebooks
@pytest.mark.slow
@pytest.mark.parametrize("stem", sorted(LESSONS))
def test_notebook_runs_with_its_solutions_and_records_sane_results(stem, lit_encoder):
    lesson = LESSONS[stem]
    nb = runner.read_source(lesson)
    runner.execute(nb, with_solutions=True, parameters=lesson.test_parameters)
    assert lesson.check(runner.recorded_results(nb)), lesson.expected


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str, token: str):
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_make_lab_serves_the_notebooks_with_the_shopkit_kernel(lit_encoder):
    """`make lab` as a learner runs it (headless): the server answers, the kernel is there, .py opens as a notebook."""
    port, token = _free_port(), secrets.token_hex(8)
    server = subprocess.Popen(["make", "-s", "lab", f"LAB_PORT={port}", f"LAB_ARGS=--no-browser --IdentityProvider.token={token}"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        base, specs = f"http://127.0.0.1:{port}", None
        for _ in range(240):
            if server.poll() is not None:
                pytest.fail(f"make lab stopped: {server.stdout.read()[-2000:]}")
            try:
                specs = _get_json(f"{base}/api/kernelspecs", token)
                break
            except OSError:
                time.sleep(0.5)
        assert specs is not None, "the lab server never answered"
        assert "shopkit" in specs["kernelspecs"]
        assert specs["kernelspecs"]["shopkit"]["spec"]["display_name"] == "Python (ShopKit)"
        listing = {item["name"] for item in _get_json(f"{base}/api/contents/", token)["content"]}
        assert {f"{stem}.ipynb" for stem in LESSONS} <= listing
        opened = _get_json(f"{base}/api/contents/00_quick_start.py?type=notebook&content=1", token)
        assert opened["type"] == "notebook" and opened["content"]["metadata"]["kernelspec"]["name"] == "shopkit"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_a_notebook_is_stale_when_kit_code_it_runs_changes_but_not_when_a_docstring_does(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('"""Doc."""\n\ndef f(x):\n    """Say why."""\n    return x + 1  # a comment\n')
    before = runner._behaviour_digest(module)
    module.write_text('"""Another doc."""\n\n\ndef f(x):\n    """Say why, better."""\n    return x + 1\n')
    assert runner._behaviour_digest(module) == before
    module.write_text('"""Doc."""\n\ndef f(x):\n    return x + 2\n')
    assert runner._behaviour_digest(module) != before
    lesson = runner.read_source(LESSONS["00_quick_start"])  # imports kit.search, which imports kit.search.index
    assert {"kit.search", "kit.search.engine", "kit.search.index", "kit.errors"} <= set(runner.kit_modules(lesson))


def test_test_parameters_override_only_what_the_parameters_cell_defines():
    for lesson in LESSONS.values():
        nb = runner.read_source(lesson)
        runner.with_parameters(nb, lesson.test_parameters)  # every lesson's test values name real parameters
    nb = runner.read_source(LESSONS["07_semantic_ids"])
    runner.with_parameters(nb, {"EVAL_USERS": 5})
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    assert nb.cells[at + 1].source == "EVAL_USERS = 5" and "injected-parameters" in nb.cells[at + 1].metadata["tags"]
    with pytest.raises(ValueError, match="not parameters of this notebook"):
        runner.with_parameters(nb, {"EPOCHS_TYPO": 1})
