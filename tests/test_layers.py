"""The house's layering: each layer imports only from the layers below it (DEVELOPERS.md)."""

import ast
from pathlib import Path

KIT = Path(__file__).resolve().parents[1] / "kit"
BOTTOM = {"registry", "catalog", "eval", "config", "errors", "files", "logs", "images", "datasets", "bundled_catalogs",
          "sequences"}
CAPABILITIES = {"clip", "bundles", "llm", "speech", "imagery"}
ALLOWED = {  # layer -> kit top-level modules it may import
    **{name: BOTTOM for name in BOTTOM},
    **{name: BOTTOM | {name} for name in CAPABILITIES},
    "llm": BOTTOM | {"llm", "clip"},  # paradigm 1 embeds text with the clip text towers
    "imagery": BOTTOM | {"imagery", "clip"},  # the kit's own generator is conditioned on the same MiniLM tower
    "rerank": BOTTOM | {"rerank"},  # numbers in, an order out: usable under any recommender
    "scale": BOTTOM | {"scale", "clip"},  # the embedding job runs the clip encoders
    "search": BOTTOM | {"search", "clip", "scale"},  # searches the job's shards
    "semids": BOTTOM | {"semids", "clip", "llm"},  # item texts through the clip text towers; the chat model from llm
    "simulate": BOTTOM | {"simulate", "llm", "clip", "semids", "rerank", "bundles"},  # shoppers over the semids baselines
    "generate": BOTTOM | {"generate", "llm", "clip"},  # writers use the chat model; zero-shot fill-ins come from clip
    "planning": BOTTOM | {"planning", "llm", "search", "clip"},
    "assistant": BOTTOM | CAPABILITIES | {"assistant", "search", "planning"},
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
