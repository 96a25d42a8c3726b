"""Helpers to write the kit's notebooks from Python (cells as data); run `python tools/make_notebooks.py`."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def md(text: str):
    return new_markdown_cell(text.strip())


def code(text: str, tag: str | None = None, hidden: bool = False):
    cell = new_code_cell(text.strip())
    if tag:
        cell.metadata["tags"] = [tag]
    if hidden:
        cell.metadata["jupyter"] = {"source_hidden": True}
    return cell


def write(path: str, cells: list) -> None:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
