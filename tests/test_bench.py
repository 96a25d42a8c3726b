"""The benchmark renderer: sections return records; met or missed comes from the numbers; --only keeps the rest."""

import json

import pytest

import kit.bench
from kit.bench.records import Figure, Line, Panel, Section, Table, Target, Text
from kit.bench.render import section_markdown, write_benchmarks


def test_met_or_missed_is_computed_from_the_number_and_its_bar():
    assert Target("recall", 0.81, 0.80).met is True
    assert Target("recall", 0.79, 0.80).met is False
    assert Target("seconds", 2.5, 3.0, at_most=True).met is True
    assert Target("seconds", 3.5, 3.0, at_most=True).met is False
    assert Target("seconds", None, 3.0).met is None
    text = section_markdown(Section("S", [Target("top-1", 0.79, 0.80), Target("p50 ms", 12.0, 25, at_most=True)]))
    assert "Target: top-1 >= 0.8. Not met (0.79)." in text and "Target: p50 ms <= 25. Met (12)." in text


def test_a_section_renders_its_blocks_in_order_with_the_machine_line():
    section = Section("Widgets", [Text("why"), Table(["a", "b"], [["x", 0.123456]], title="numbers"), Text("after")],
                      machine="test machine", measured="2026-01-01")
    text = section_markdown(section)
    assert text.startswith("## Widgets\n\nMeasured 2026-01-01 on test machine.")
    assert text.index("why") < text.index("### numbers") < text.index("| x | 0.1235 |") < text.index("after")


def test_writing_renders_new_records_keeps_old_text_and_saves_json_figures_and_files(tmp_path):
    out = tmp_path / "docs" / "benchmarks.md"
    first = Section("One", [Text("first run"), Target("r", 0.5, 0.4)], numbers={"r": 0.5},
                    files={"model_cards/m.md": "# card"}, machine="m")
    second = Section("Two", [Figure("curve.png", "a curve", [Panel([Line("l", [1, 2], [0.5, 0.6])], "x", "y",
                                                                   reference_y=0.55)])], machine="m")
    write_benchmarks({"one": first, "two": second}, out)
    record = json.loads((out.parent / "bench" / "one.json").read_text())
    assert record["numbers"] == {"r": 0.5} and record["targets"][0]["met"] is True
    assert (out.parent / "model_cards" / "m.md").read_text() == "# card"
    assert (out.parent / "curve.png").stat().st_size > 1000 and "![a curve](curve.png)" in out.read_text()

    changed = Section("One", [Text("second run"), Target("r", 0.3, 0.4)], machine="m")
    text = write_benchmarks({"one": changed, "two": None}, out)  # what --only one does
    assert "second run" in text and "Not met (0.3)" in text and "first run" not in text
    assert "![a curve](curve.png)" in text  # the section not run kept its previous text
    assert "_Section not run yet" in write_benchmarks({"three": None}, tmp_path / "other.md")


def test_run_benchmarks_runs_only_the_named_section(tmp_path, monkeypatch):
    ran = []

    def fake(name):
        def section(quick):
            ran.append((name, quick))
            return Section(name, [Text(f"{name} text")], machine="m")
        return section

    monkeypatch.setattr(kit.bench, "SECTIONS", {"a": fake("a"), "b": fake("b")})
    kit.bench.run_benchmarks(tmp_path / "b.md", quick=True)
    assert ran == [("a", True), ("b", True)]
    ran.clear()
    text = kit.bench.run_benchmarks(tmp_path / "b.md", only="b")
    assert ran == [("b", False)] and "a text" in text and "b text" in text


def test_every_section_is_declared_and_reachable_from_the_cli():
    from kit.cli import build_parser

    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["bench", "--only", "no-such-section"])
    assert parser.parse_args(["bench", "--only", "planning"]).only == "planning"
    assert parser.parse_args(["bench", "--only", "enrich"]).only == "enrich"
    assert all(callable(section) for section in kit.bench.SECTIONS.values()) and len(kit.bench.SECTIONS) == 22
