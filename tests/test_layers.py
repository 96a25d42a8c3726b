"""The house's layering: each layer imports only from the layers below it (DEVELOPERS.md)."""

import ast
from pathlib import Path

KIT = Path(__file__).resolve().parents[1] / "kit"
BOTTOM = {"registry", "catalog", "eval", "config", "errors", "files", "logs", "images", "datasets", "bundled_catalogs",
          "sequences", "training"}
CAPABILITIES = {"clip", "bundles", "llm", "speech", "imagery"}
ALLOWED = {  # layer -> kit top-level modules it may import
    **{name: BOTTOM for name in BOTTOM},
    **{name: BOTTOM | {name} for name in CAPABILITIES},
    "llm": BOTTOM | {"llm", "clip"},  # paradigm 1 embeds text with the clip text towers
    "imagery": BOTTOM | {"imagery", "clip"},  # the kit's own generator is conditioned on the same MiniLM tower
    "rerank": BOTTOM | {"rerank"},  # numbers in, an order out: usable under any recommender
    "scale": BOTTOM | {"scale", "clip"},  # the embedding job runs the clip encoders
    "enrich": BOTTOM | {"enrich", "clip"},  # attribute heads over the clip towers' cached features
    "search": BOTTOM | {"search", "clip", "scale", "enrich"},  # searches the job's shards; filters read enriched labels
    "semids": BOTTOM | {"semids", "clip", "llm"},  # item texts through the clip text towers; the chat model from llm
    "simulate": BOTTOM | {"simulate", "llm", "clip", "semids", "rerank", "bundles"},  # shoppers over the semids baselines
    "generate": BOTTOM | {"generate", "llm", "clip", "enrich"},  # writers use the chat model; photo facts: heads, zero-shot
    "planning": BOTTOM | {"planning", "llm", "search", "clip"},
    "assistant": BOTTOM | CAPABILITIES | {"assistant", "search", "planning", "enrich"},
    "tasks": BOTTOM | CAPABILITIES | {"tasks", "search", "planning", "assistant", "enrich"},  # a scripted shopper drives the assistant
}


def kit_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("kit.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kit."):
            found.add(node.module.split(".")[1])
    return found


def test_no_module_imports_upward():
    problems = []
    for path in KIT.rglob("*.py"):
        rel = path.relative_to(KIT)
        layer = rel.parts[0].removesuffix(".py")
        if layer in ("cli", "__main__", "__init__", "bench"):
            continue
        bad = kit_imports(path) - ALLOWED.get(layer, BOTTOM)
        if bad:
            problems.append(f"{rel} imports {sorted(bad)}")
    assert problems == []


def test_no_capability_knows_about_gradio_or_notebooks():
    for path in KIT.rglob("*.py"):
        text = path.read_text()
        assert "import gradio" not in text and "IPython" not in text, path


def _data_names() -> set[str]:
    from kit.bundled_catalogs import CATALOG_TABLE
    from kit.datasets import list_datasets

    return set(CATALOG_TABLE) | set(list_datasets())


def name_literals(roots: tuple[Path, ...], skip: set[str]) -> list[str]:
    """Every string constant in code that is exactly a catalog's or dataset's name, as ``path:line``."""
    names, found = _data_names(), []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if path.name in skip:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    return found


def test_code_loops_over_the_catalog_table_instead_of_typing_names():
    """What differs per catalog lives in its CatalogSpec (kit/bundled_catalogs.py) and per dataset in its config
    (kit/datasets.py); code elsewhere in kit/ and apps/ reads those tables (at most 5 names left, round 3's bar)."""
    found = name_literals((KIT, KIT.parent / "apps"), skip={"bundled_catalogs.py", "datasets.py"})
    assert len(found) <= 5, found


def test_the_name_count_sees_a_typed_name(tmp_path):
    (tmp_path / "kit").mkdir()
    (tmp_path / "kit" / "mod.py").write_text('"""About grocery_store."""\nx = open_catalog("grocery_store")\n')
    assert name_literals((tmp_path / "kit",), skip=set()) == ["kit/mod.py:2"]  # the docstring is prose, not a key
