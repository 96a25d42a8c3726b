"""The one renderer: section records -> docs/benchmarks.md, their figures, files and JSON.

Met or missed is said here, from each target's number and bar. A section not run this time keeps the text
it had in the previous file (between its ``<!-- section:NAME -->`` markers), so ``--only X`` rewrites one.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from kit.bench.records import Figure, Section, Table, Target, Text

HEADER = ("# Benchmarks\n\nWritten by `make bench` (`python -m kit bench`) from the records each section returns "
          "(also saved as JSON in docs/bench/); every number below was measured by that command on the machine "
          "its section names, and every \"met\" or \"not met\" is computed from the number and its target. Tests "
          "assert behaviour; this file only measures.\n")


def cell(value, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def table_markdown(table: Table) -> str:
    lines = ["| " + " | ".join(table.header) + " |", "|" + "---|" * len(table.header)]
    lines += ["| " + " | ".join(cell(v, table.digits) for v in row) + " |" for row in table.rows]
    return (f"### {table.title}\n" if table.title else "") + "\n".join(lines)


def target_markdown(target: Target) -> str:
    sign = "<=" if target.at_most else ">="
    if target.met is None:
        return f"Target: {target.what} {sign} {target.bar:g}. Not measured in this run."
    return f"Target: {target.what} {sign} {target.bar:g}. {'Met' if target.met else 'Not met'} ({target.value:.4g})."


def draw(figure: Figure, folder: Path) -> Path:
    """Line plots, one panel per axes, saved as docs/<figure.name>."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(figure.panels), figsize=(5.5 * len(figure.panels), 4.2), squeeze=False)
    for axis, panel in zip(axes[0], figure.panels):
        for line in panel.lines:
            axis.plot(line.x, line.y, marker="o", ms=3, label=line.label)
        if panel.reference_y is not None:
            axis.axhline(panel.reference_y, color="grey", lw=0.8, ls="--")
        axis.set(xlabel=panel.xlabel, ylabel=panel.ylabel, title=panel.title, xscale="log" if panel.xlog else "linear")
        if panel.ylim:
            axis.set_ylim(*panel.ylim)
        axis.legend(fontsize=7)
    fig.tight_layout()
    path = folder / figure.name
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def section_markdown(section: Section) -> str:
    """The section as markdown: title, what it ran on, then its blocks in order."""
    parts = [f"## {section.title}", f"Measured {section.measured} on {section.machine}."
             + (" Quick run (subsets): not the committed numbers." if section.quick else "")]
    for block in section.blocks:
        if isinstance(block, Text):
            parts.append(block.text)
        elif isinstance(block, Table):
            parts.append(table_markdown(block))
        elif isinstance(block, Target):
            parts.append(target_markdown(block))
        elif isinstance(block, Figure):
            parts.append(f"![{block.caption}]({block.name})")
    return "\n\n".join(part for part in parts if part)


def _plain(value):
    """JSON for numpy scalars and arrays, paths and anything else a record may hold."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def write_outputs(name: str, section: Section, docs: Path) -> None:
    """The section's figures, files and JSON record under ``docs``."""
    for block in section.blocks:
        if isinstance(block, Figure):
            draw(block, docs)
    for relative, text in section.files.items():
        path = docs / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    record = {**asdict(section), "targets": [{**asdict(t), "met": t.met} for t in section.targets]}
    (docs / "bench").mkdir(parents=True, exist_ok=True)
    (docs / "bench" / f"{name}.json").write_text(json.dumps(record, indent=1, default=_plain) + "\n")


def write_benchmarks(sections: dict[str, Section | None], out: Path) -> str:
    """Rewrite ``out``: sections given a record are rendered (and their outputs written next to ``out``);
    a ``None`` keeps the section's previous text."""
    previous = out.read_text() if out.is_file() else ""
    out.parent.mkdir(parents=True, exist_ok=True)
    texts = []
    for name, section in sections.items():
        start, end = f"<!-- section:{name} -->", f"<!-- /section:{name} -->"
        if section is not None:
            write_outputs(name, section, out.parent)
            body = section_markdown(section)
        elif start in previous:
            body = previous.split(start, 1)[1].split(end, 1)[0].strip()
        else:
            body = f"_Section not run yet: `python -m kit bench --only {name}`._"
        texts.append(f"{start}\n{body}\n{end}")
    text = HEADER + "\n" + "\n\n".join(texts) + "\n"
    out.write_text(text)
    return text
