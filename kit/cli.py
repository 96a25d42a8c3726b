"""``python -m kit``: the command line. Each subcommand is a small function; output is a table or --json."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from typing import Any, Callable

from kit.errors import KitError

log = logging.getLogger("kit")


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))


def cmd_models(args: argparse.Namespace) -> int:
    from kit.registry import model_table

    rows = [asdict(s) for s in model_table() if args.kind in (None, s.kind)]
    for row in rows:
        row["status"] = f"available ({row['origin']})" if row["available"] else "not available"
        row["get it with"] = "" if row["available"] else row["fetch_command"]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print_table(rows, ["name", "kind", "status", "license", "get it with"])
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from kit.registry import REGISTRY

    resolved = REGISTRY.fetch(args.name)
    print(f"{args.name}: {resolved.path} ({resolved.origin})")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from kit.datasets import download_dataset, get_dataset_spec, list_datasets, resolve_dataset, verify_dataset

    if args.fetch:
        print(download_dataset(args.fetch))
        return 0
    rows, failed = [], False
    for name in list_datasets():
        spec = get_dataset_spec(name)
        row = {"name": name, "size": spec.size, "license": spec.license, "card": spec.card}
        try:
            resolved = resolve_dataset(name, download=False)
            row.update(status=f"available ({resolved.origin})", path=str(resolved.path))
            if args.verify:
                problems = verify_dataset(resolved.path, spec, full=True)
                row["verified"] = "ok" if not problems else "; ".join(problems[:3])
                failed |= bool(problems)
        except KitError as exc:
            row.update(status="not available", path="", error=str(exc))
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print_table(rows, ["name", "status", "size", "license"] + (["verified"] if args.verify else []))
    return 1 if failed else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from kit.bundled_catalogs import CATALOGS, open_catalog

    for name in CATALOGS:
        catalog = open_catalog(name)
        summary = catalog.summary()
        print(f"{name}: {summary['items']} items in {summary['categories']} categories, "
              f"{summary['with_image']} with photos. {summary['load_report']}")
    print()
    return cmd_models(argparse.Namespace(kind=None, json=False))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kit", description="ShopKit command line")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    models = sub.add_parser("models", help="list the registered models, their status and license")
    models.add_argument("--kind", help="only this kind (text, image, clip, speech, tts, llm, diffusion)")
    models.add_argument("--json", action="store_true")
    models.set_defaults(func=cmd_models)

    fetch = sub.add_parser("fetch", help="download a model into $KIT_HOME (needs the network)")
    fetch.add_argument("name")
    fetch.set_defaults(func=cmd_fetch)

    data = sub.add_parser("data", help="list the datasets and where they resolve")
    data.add_argument("--verify", action="store_true", help="check every file against SHA256SUMS")
    data.add_argument("--fetch", metavar="NAME", help="download a dataset into the cache (needs the network)")
    data.add_argument("--json", action="store_true")
    data.set_defaults(func=cmd_data)

    demo = sub.add_parser("demo", help="start the assistant on the bundled catalogs")
    demo.set_defaults(func=cmd_demo)

    for register in _extensions():
        register(sub)
    return parser


def _extensions() -> list[Callable[[Any], None]]:
    """Subcommand groups contributed by the capabilities (each module exposes ``register_cli``)."""
    return []


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.func(args) or 0)
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
