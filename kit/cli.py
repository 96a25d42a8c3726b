"""``python -m kit``: the command line. Each subcommand is a small function; output is a table or --json."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import sys
from dataclasses import asdict
from typing import Any

from kit.bundled_catalogs import CATALOG_TABLE, CATALOGS, PHOTO_CATALOGS, held_out_catalog
from kit.datasets import datasets_of_kind
from kit.errors import BadInput, KitError
from kit.logs import configure_logging

log = logging.getLogger("kit")
CATALOG_HELP = f"a bundled catalog ({', '.join(CATALOGS)}) or the path of a .csv/.jsonl/.parquet catalog file"
def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))


def cmd_models(args: argparse.Namespace) -> int:
    from kit.registry import model_table

    table = model_table()
    kinds = sorted({s.kind for s in table})
    if args.kind is not None and args.kind not in kinds:
        raise BadInput(f"unknown model kind {args.kind!r}; kinds: {', '.join(kinds)}")
    rows = [asdict(s) for s in table if args.kind in (None, s.kind)]
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


def ensure_encoder(name: str | None = None) -> str:
    """The image-text model to load: ``name``, or the registry's default (``shopkit-lit-ft``) when it is
    trained, else its fallback with a warning that says how to train the default. shopkit-lit, the fallback,
    is trained here when missing (a few minutes on 2 cores, once: what the first `make demo` does)."""
    from kit.registry import REGISTRY

    name = name or REGISTRY.available_default("clip")
    if name == "shopkit-lit" and not REGISTRY.status("shopkit-lit").available:
        import time

        log.info("shopkit-lit is not trained yet: training it now (a few minutes on 2 cores, once)")
        from kit.clip.lit import train_lit
        from kit.clip.model_card import write_model_card

        started = time.perf_counter()
        folder, _, metrics = train_lit()
        write_model_card(folder)
        log.info("shopkit-lit trained in %.0f s (grocery val top-1 %.3f), saved to %s", time.perf_counter() - started,
                 metrics["grocery_val_top1"] or 0.0, folder)
    return name


def ensure_default_encoder() -> str:
    """:func:`ensure_encoder` for the registry's default."""
    return ensure_encoder(None)


# What the notebooks, the app and the workshop load: datasets first (training needs them), then models.
PREPARED_MODELS = ("efficientnet-lite0", "minilm", "shopkit-lit", "smollm2-135m-instruct", "whisper-base", "hibari")


def cmd_prepare(args: argparse.Namespace) -> int:
    """Make sure every dataset and model the notebooks load is in place, training shopkit-lit once if needed.

    The notebooks' kernel reads $KIT_HOME (default ~/.cache/shopkit), which is not the tests' cache, so
    `make lab` and `make workshop-check` run this first; a second run only checks.
    """
    from kit.datasets import list_datasets, resolve_dataset
    from kit.registry import REGISTRY

    for name in dict.fromkeys([*CATALOGS, *list_datasets()]):  # every dataset: the catalogs' first, in their order
        resolved = resolve_dataset(name)  # offline and missing: DatasetNotAvailable with the fetch command
        print(f"dataset {name:18} ready ({resolved.origin})")
    ensure_default_encoder()
    for name in PREPARED_MODELS:
        resolved = REGISTRY.resolve(name)  # missing: ModelNotAvailable naming how to get it
        print(f"model   {name:22} ready ({resolved.origin})")
    return 0


def cmd_train_lit(args: argparse.Namespace) -> int:
    from kit.clip.lit import LitConfig, train_lit
    from kit.clip.model_card import write_model_card

    config = LitConfig(epochs=args.epochs, catalogs=tuple(args.catalog or PHOTO_CATALOGS), max_items=args.max_items,
                       seed=args.seed)
    folder, history, metrics = train_lit(args.out, config)
    write_model_card(folder)
    print(json.dumps({"folder": str(folder), **metrics}, indent=2))
    return 0


def cmd_train_ft(args: argparse.Namespace) -> int:
    from kit.clip.finetune import FinetuneConfig, train_finetuned
    from kit.clip.model_card import write_model_card

    config = FinetuneConfig(unfrozen_stages=args.stages, cached_stages=max(2, args.stages), views=args.views,
                            epochs=args.epochs, probe_epochs=args.probe_epochs, seed=args.seed,
                            catalogs=tuple(args.catalog or PHOTO_CATALOGS), max_items=args.max_items,
                            max_photos=args.max_photos)
    folder, _, metrics = train_finetuned(args.out, config)
    write_model_card(folder)
    print(json.dumps({"folder": str(folder), **metrics}, indent=2))
    return 0


def _search_engine(catalog: str, model: str, images_dir: str | None = None):
    from kit.bundled_catalogs import open_catalog
    from kit.clip.encoder import ItemEncoder
    from kit.search import CatalogSearch

    items = open_catalog(catalog, images_dir=images_dir)  # a bad name or file fails before any model loads
    return CatalogSearch.build(items, ItemEncoder.from_pretrained(ensure_encoder(model)))


def cmd_search(args: argparse.Namespace) -> int:
    if args.k < 1:
        raise BadInput(f"--k must be at least 1, got {args.k}")
    if not args.image and not any(c.isalnum() for c in args.query):
        raise BadInput(f"give a query with words (python -m kit search \"green apples\") or --image PATH; "
                       f"got {args.query[:40]!r}")
    engine = _search_engine(args.catalog, args.model, args.images_dir)
    filters = {"category": args.category, "min_price": args.min_price, "max_price": args.max_price}
    if args.image:
        results = engine.image(args.image, k=args.k, **filters)
    else:
        mode = {"dense": "text", "bm25": "bm25", "hybrid": "hybrid"}[args.mode]
        results = getattr(engine, mode)(args.query, k=args.k, **filters)
    rows = [r.to_dict() for r in results]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print_table(rows, ["id", "title", "score"])
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from kit.scale.job import ENGINES, JobSpec, embed

    if args.engine not in ENGINES:
        raise BadInput(f"unknown engine {args.engine!r}; choose one of {', '.join(ENGINES)}")
    if args.address and args.engine != "ray":
        raise BadInput("--address names a Ray cluster; add --engine ray")
    spec = JobSpec(args.catalog, args.out, args.model, args.images_dir, args.limit, args.shard_size, args.batch_size,
                   args.decode_workers)  # checked here, before any model loads
    spec = dataclasses.replace(spec, model=ensure_encoder(args.model))
    report = embed(spec, args.engine, args.address, args.actors)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(f"{report.rows:,} items in {report.shards} shards in {report.out}: embedded {len(report.embedded)} shards "
          f"({report.photos:,} photos) in {report.seconds:.1f} s, {report.resumed} already done")
    for item_id, reason in report.errors:
        print(f"  {item_id}: photo not embedded: {reason}")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    import typing

    from kit.llm.factory import load_chat_model
    from kit.planning import NeedsMode, Planner

    if not args.goal.strip():
        raise BadInput("the goal is empty; say what you are planning, e.g. \"a brunch for four\"")
    if args.needs not in typing.get_args(NeedsMode):  # checked before the model loads (seconds)
        raise BadInput(f"unknown --needs {args.needs!r}; choose one of: {', '.join(typing.get_args(NeedsMode))}")
    planner = Planner(load_chat_model(args.llm), _search_engine(args.catalog, args.model, args.images_dir),
                      needs=args.needs)
    for progress in planner.stream(args.goal):
        if not args.json:  # each step as soon as it exists
            print(f"… {progress.message}", file=sys.stderr, flush=True)
    plan = progress.plan
    for request in args.steer or []:
        plan = planner.steer(plan, request)
    if args.json:
        print(plan.to_json())
        return 0
    print(plan.to_markdown())  # the one rendering of a plan (the app and the assistant use it too)
    print("Basket:")
    print_table([e.model_dump() for e in plan.basket], ["item_id", "title", "quantity", "reason"])
    if args.trace:
        for record in planner.log.records:
            print(f"\n--- {record.purpose} ({record.seconds:.1f} s) ---\n{record.messages[-1]['content']}\n=> {record.reply}")
    return 0


def cmd_llm_tune(args: argparse.Namespace) -> int:
    from kit.semids.pipeline import (SemidsConfig, chat_paths, check_minutes, load_or_build_ids, load_sequences,
                                     train_chat, tuned_config)

    check_minutes(args.minutes)
    if args.steps_per_epoch < 1:
        raise BadInput(f"--steps-per-epoch must be at least 1, got {args.steps_per_epoch}")
    config = tuned_config(SemidsConfig(dataset=args.dataset, chat_model=args.base), args.steps_per_epoch)
    data = load_sequences(args.dataset)
    ids = load_or_build_ids(data, config)
    _, summary = train_chat(data, ids, config, minutes=args.minutes, resume=args.resume)
    print(json.dumps({"adapter": str(chat_paths(data, ids, config)[0]), **summary}, indent=None if args.json else 2))
    return 0


def cmd_llm_paradigms(args: argparse.Namespace) -> int:
    from kit.llm.factory import load_chat_model
    from kit.llm.paradigms.evaluate import ParadigmSettings, compare_paradigms

    settings = ParadigmSettings(n_users=args.users, n_fit_users=args.fit_users, n_candidates=args.candidates,
                                n_shuffles=args.shuffles, seed=args.seed)
    report = compare_paradigms(load_chat_model(args.llm), settings)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.markdown())
    return 0


def cmd_tasks_run(args: argparse.Namespace) -> int:
    """Run a shopping-task file through the assistant with the scripted shopper (kit/tasks/shopper.py)."""
    from tqdm.auto import tqdm

    from kit.assistant import build_assistant
    from kit.tasks import ScriptedShopper, load_tasks, summarize

    if args.limit is not None and args.limit < 1:
        raise BadInput(f"--limit must be at least 1, got {args.limit}")
    tasks, problems = load_tasks(args.file)
    for problem in problems:
        print(f"{args.file}: {problem} (skipped)", file=sys.stderr)
    tasks = [task for task in tasks if args.catalog in (None, task.catalog)][:args.limit]
    if not tasks:
        raise BadInput(f"no task to run in {args.file}" + (f" for the catalog {args.catalog!r}" if args.catalog else ""))
    served = tuple(name for name in CATALOGS if any(task.catalog == name for task in tasks))
    shopper = ScriptedShopper(build_assistant(served or None))
    report = summarize(shopper.run(task) for task in tqdm(tasks, desc="shopping tasks", unit="task", file=sys.stderr))
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"success {report['success_rate']:.3f} on {report['n']} tasks")
    for group in ("by_kind", "by_catalog"):
        print("  " + ", ".join(f"{name} {rate:.2f}" for name, rate in report[group].items()))
    for task in report["tasks"]:
        if not task["success"]:
            print(f"  failed {task['id']}: {task['why']}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from kit.simulate.datasets import check_dataset
    from kit.simulate.experiment import SimulationContext, check_settings, run_simulation

    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    check_settings(args.simulator, policies, args.users, args.page_size)  # before data and models load
    check_dataset(args.dataset, args.simulator)
    if args.llm and args.simulator != "llm":
        raise BadInput("--llm names the chat model of the llm simulator; add --simulator llm")
    chat = None
    if args.simulator == "llm":
        from kit.llm.factory import load_chat_model

        chat = load_chat_model(args.llm)
    report = run_simulation(SimulationContext.load(args.dataset), args.simulator, policies, args.users,
                            args.page_size, args.seed, chat, args.offline_users)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.markdown())
    return 0


def cmd_copy(args: argparse.Namespace) -> int:
    from kit.bundled_catalogs import item_split, open_catalog
    from kit.generate import TONES, WRITERS, FactChecker, LLMWriter, TemplateWriter, write_copy

    if args.writer not in WRITERS:
        raise BadInput(f"unknown writer {args.writer!r}; choose one of {', '.join(WRITERS)}")
    if args.tone not in TONES:
        raise BadInput(f"unknown tone {args.tone!r}; choose one of {', '.join(TONES)}")
    if args.items < 1:
        raise BadInput(f"--items must be at least 1, got {args.items}")
    if args.llm and args.writer != "llm":
        raise BadInput("--llm names the chat model of the llm writer; add --writer llm")
    if args.photo_facts is not None and not 0 < args.photo_facts <= 1:
        raise BadInput(f"--photo-facts is a probability in (0, 1], got {args.photo_facts}")
    catalog = open_catalog(args.catalog)
    # items the kit's image-text model never saw; a catalog too small to hold any out is written for whole
    spec = CATALOG_TABLE.get(args.catalog)
    held_out = (item_split(catalog, spec.holdout if spec and spec.holdout else 0.2, args.seed)[1]
                or list(catalog.items))[:args.items]
    if args.writer == "llm":
        from kit.llm.factory import load_chat_model

        writer = LLMWriter(load_chat_model(args.llm))
    else:
        writer = TemplateWriter()
    photo = None  # photo facts: on when the catalog has trained attribute heads; zero-shot only with --photo-facts P
    from kit.enrich.recipe import trained_heads

    if args.photo_facts is not None or trained_heads(catalog.name):
        from kit.clip.encoder import ItemEncoder
        from kit.generate.photo_facts import PhotoFacts

        zero_shot_threshold = args.photo_facts if args.photo_facts is not None else math.inf
        photo = PhotoFacts.for_catalog(catalog, ItemEncoder.from_pretrained(), zero_shot_threshold)
    report = write_copy(held_out, writer, FactChecker.for_catalog(catalog), args.tone, photo).to_dict()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for copy in report["texts"]:
        print(f"{copy['id']}: {copy['headline']}\n  {copy['text']}\n  ({copy['label']})")
    print(f"hallucination rate {report['hallucination_rate']:.3f} (first drafts {report['first_draft_hallucination_rate']:.3f}), "
          f"{report['retried']} retried, {report['dropped_sentences']} sentences dropped, {report['fell_back']} fell back "
          f"to the template; {report['seconds_per_item']:.2f} s per item")
    return 0


def cmd_transcribe(args: argparse.Namespace) -> int:
    from kit.speech import CatalogBias, CatalogVocabulary, load_transcriber

    bias = None
    if args.catalog:
        from kit.bundled_catalogs import open_catalog

        bias = CatalogBias(CatalogVocabulary.from_catalog(open_catalog(args.catalog)))  # a bad name fails first
    transcript = load_transcriber(args.model).transcribe(args.file, bias=bias)
    if args.json:
        print(json.dumps(asdict(transcript), indent=2))
    else:
        print(transcript.text if not transcript.is_silent else "(silence: nothing was said)")
    return 0


def cmd_speak(args: argparse.Namespace) -> int:
    from kit.speech import speak

    audio, rate = speak(args.text, voice=args.voice, out=args.out)
    print(f"wrote {args.out}: {len(audio) / rate:.1f} s at {rate} Hz ({args.voice})")
    return 0


def cmd_imagery_train(args: argparse.Namespace) -> int:
    from kit.imagery.label_train import LabelDiffusionConfig, train_label_diffusion
    from kit.imagery.model_card import write_label_model_card

    config = LabelDiffusionConfig(catalog=args.catalog, resolution=args.resolution, batch_size=args.batch_size,
                                  lr=args.lr, checkpoint_every=args.checkpoint_every)
    folder = train_label_diffusion(config, out=args.out, minutes=args.minutes, resume=args.resume)
    write_label_model_card(folder)
    print(f"saved {folder} (model card: {folder / 'README.md'}); run again with --resume and more --minutes to continue")
    return 0


def cmd_imagery_train_text(args: argparse.Namespace) -> int:
    from kit.imagery.model_card import write_model_card
    from kit.imagery.train import DiffusionTrainConfig, train_diffusion

    config = DiffusionTrainConfig(catalog=args.catalog, resolution=args.resolution, steps=args.steps,
                                  batch_size=args.batch_size, lr=args.lr, checkpoint_every=args.checkpoint_every)
    folder = train_diffusion(config, out=args.out, device=args.device)
    write_model_card(folder)
    print(f"saved {folder} (model card: {folder / 'README.md'})")
    return 0


def cmd_imagery_draw(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch

    from kit.imagery.products import ProductsFromLabels

    if args.n < 1:
        raise BadInput(f"--n must be at least 1, got {args.n}")
    draw = ProductsFromLabels.from_pretrained(args.model, path=args.model_path)
    result = draw(args.text, n=args.n, num_inference_steps=args.steps, guidance_scale=args.guidance,
                  generator=torch.Generator().manual_seed(args.seed))
    out = Path(args.out)
    paths = [image.save(out / f"{index:03d}.png") for index, image in enumerate(result.images)]
    (out / "labels.json").write_text(json.dumps({"text": args.text, "labels": result.labels, "seed": args.seed,
                                                 "model": args.model, "images": [p.name for p in paths]}, indent=1))
    print(f"wrote {len(paths)} generated images to {out} ({result.images[0].label}); labels read: {result.labels}")
    return 0


def cmd_imagery_edit(args: argparse.Namespace) -> int:
    import torch

    from kit.images import load_image
    from kit.imagery import BackgroundReplacement, ProductImageVariation, TextToProductImage, product_prompt

    if args.item:
        from kit.bundled_catalogs import open_catalog

        item = open_catalog(args.catalog)[args.item]
        prompt = product_prompt(item, args.prompt)
        source = load_image(args.image or item.image) if args.task != "text" else None
    else:
        if not args.prompt:
            raise KitError("give a prompt, or --item ID to build one from a catalog item")
        prompt, source = args.prompt, (load_image(args.image) if args.image else None)
    if args.task != "text" and source is None:
        raise KitError(f"--task {args.task} needs --image or --item")
    generator = torch.Generator().manual_seed(args.seed)
    task = {"text": TextToProductImage, "variation": ProductImageVariation, "background": BackgroundReplacement}[args.task]
    pipe = task.from_pretrained(args.model)
    extra = {"image": source} if source is not None else {}
    result = pipe(prompt=prompt, num_inference_steps=args.steps, generator=generator, **extra)
    path = result.save(args.out)
    print(f"wrote {path}: {result.label}; prompt: {prompt}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from kit.bundled_catalogs import open_catalog
    from kit.clip.encoder import ItemEncoder
    from kit.search import evaluate

    if args.limit is not None and args.limit < 1:
        raise BadInput(f"--limit must be at least 1, got {args.limit}")
    _check_max_items(args.max_items)
    spec = CATALOG_TABLE.get(args.catalog)
    if spec is not None and not spec.has_photos:
        raise BadInput(f"{args.catalog} has no photos, so there is no image retrieval to evaluate; "
                       f"catalogs with photos: {', '.join(PHOTO_CATALOGS)}")
    if args.max_items is not None and (spec is None or spec.photo_queries is not None):
        raise BadInput(f"--max-items slices a catalog whose held-out titles are searched among its photos; "
                       f"{args.catalog} is evaluated with shopper photos against all its products (drop --max-items)")
    own = None if spec is not None else open_catalog(args.catalog, images_dir=args.images_dir)
    encoder = ItemEncoder.from_pretrained(ensure_encoder(args.model))
    if spec is not None and spec.photo_queries is not None:  # shopper photos -> products
        result = evaluate.grocery_image_retrieval(encoder, args.split, args.products, args.limit)
    elif spec is not None and spec.holdout > 0:  # held-out titles -> photos, labels read off the photos
        result = evaluate.fashion_text_to_image(encoder, limit=args.limit, spec=spec, max_items=args.max_items)
        zero_shot = evaluate.zero_shot_attributes(encoder, limit=args.limit, spec=spec,  # from the held-out photos alone
                                                  max_items=args.max_items)
        result["zero_shot"] = {k: v for k, v in zero_shot.items() if k not in ("n", "majority")}
        result["zero_shot_majority"] = zero_shot["majority"]  # the baseline to beat: always the commonest label
    else:
        result = evaluate.title_to_image(encoder, own, limit=args.limit)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


def cmd_enrich_train(args: argparse.Namespace) -> int:
    """Attribute heads on a catalog's labelled items: accuracy, majority baseline and the operating point's
    precision and coverage on its test items, then saved where `enrich fill` finds them."""
    from kit.bundled_catalogs import open_catalog
    from kit.enrich import measure, train_catalog_heads
    from kit.enrich.fill import photo_tower_of
    from kit.enrich.recipe import heads_path
    from kit.enrich.tower import TowerConfig

    if args.tower_epochs < 1:
        raise BadInput(f"--tower-epochs must be at least 1, got {args.tower_epochs}")
    if args.tune_photo_tower and args.view != "photo":
        raise BadInput(f"--tune-photo-tower serves the photo view only (photo + title heads keep the frozen trunk: "
                       f"fitted on the items the tower learned, they lean on it too much); got --view {args.view}")
    catalog = open_catalog(args.catalog, images_dir=args.images_dir)
    tower = TowerConfig(epochs=args.tower_epochs) if args.tune_photo_tower else None
    heads, splits, seconds = train_catalog_heads(catalog, args.view, args.attributes, args.precision, tune_tower=tower)
    quality = measure(heads, splits.test)
    rows = {name: {"accuracy": q.accuracy, "majority": q.majority_accuracy, "precision": q.precision,
                   "coverage": q.coverage, "threshold": heads[name].threshold, "n": q.n} for name, q in quality.items()}
    if args.json:
        print(json.dumps({"view": args.view, "seconds": seconds, "heads": str(heads_path(catalog.name, args.view)),
                          "photo_tower": photo_tower_of(heads), "attributes": rows}, indent=2))
        return 0
    print(f"{catalog.name}, {args.view}: {len(heads)} heads in {seconds:.1f} s -> {heads_path(catalog.name, args.view)}")
    for name, row in rows.items():
        print(f"  {name:12s} accuracy {row['accuracy']:.3f} (majority {row['majority']:.3f}); at confidence >= "
              f"{row['threshold']:.2f}: precision {row['precision']:.3f}, coverage {row['coverage']:.3f} ({row['n']} test items)")
    return 0


def cmd_enrich_fill(args: argparse.Namespace) -> int:
    """Fill the missing labels of a catalog with its saved heads and write the enriched CSV (never overwrites)."""
    from kit.bundled_catalogs import open_catalog
    from kit.enrich import enrich, save_enriched, saved_heads

    catalog = open_catalog(args.catalog, images_dir=args.images_dir)
    heads = saved_heads(args.heads_from or catalog.name, args.view)
    result = enrich(catalog, heads)
    path = save_enriched(result, args.out)
    print(f"{path}: {result.summary()}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from kit.bench import run_benchmarks

    print(run_benchmarks(args.out, quick=args.quick, only=args.only))
    return 0


def _train_and_save_bundles(dataset: str, model: str, epochs: int, seed: int) -> dict:
    from kit.bundles.data import load_bundles
    from kit.bundles.protocol import evaluate_ranking
    from kit.bundles.train import BundleTrainConfig, save_checkpoint, train_bundle_model

    data = load_bundles(dataset)
    result = train_bundle_model(data, BundleTrainConfig(model=model, epochs=epochs, seed=seed))
    metrics = {k: v for k, v in evaluate_ranking(result.model.score, data, "test").items() if k != "users"}
    path = save_checkpoint(result, dataset, metrics)
    log.info("saved %s (best epoch %d, %.1f s) to %s", model, result.best_epoch, result.seconds, path)
    return metrics


def cmd_bundles_train(args: argparse.Namespace) -> int:
    metrics = _train_and_save_bundles(args.dataset, args.model, args.epochs, args.seed)
    print(json.dumps(metrics, indent=2))
    return 0


def cmd_bundles_eval(args: argparse.Namespace) -> int:
    from kit.bundles.data import load_bundles
    from kit.bundles.protocol import evaluate_ranking
    from kit.bundles.train import checkpoint_path, load_checkpoint

    if not checkpoint_path(args.dataset, args.model, args.seed).is_file():
        log.info("no cached %s model: training it first", args.model)
        _train_and_save_bundles(args.dataset, args.model, 100, args.seed)
    data = load_bundles(args.dataset)
    model, _ = load_checkpoint(data, args.dataset, args.model, args.seed)
    metrics = {k: round(v, 6) for k, v in evaluate_ranking(model.score, data, "test").items() if k != "users"}
    print(json.dumps(metrics, indent=None if args.json else 2))
    return 0


def _semids_config(args: argparse.Namespace):
    from kit.semids.pipeline import SemidsConfig

    if args.levels < 1 or args.codebook_size < 2:
        raise BadInput(f"--levels must be >= 1 and --codebook-size >= 2, got {args.levels} and {args.codebook_size}")
    config = SemidsConfig(dataset=args.dataset, text_model=args.text_model, tokenizer=args.tokenizer)
    config.rqvae.levels, config.rqvae.codebook_size = args.levels, args.codebook_size
    if getattr(args, "eval_users", None) is not None:
        config.eval_users = args.eval_users
    return config


def cmd_semids_build(args: argparse.Namespace) -> int:
    from kit.semids.pipeline import build_ids, ids_path, load_sequences

    config = _semids_config(args)
    _, stats = build_ids(load_sequences(args.dataset), config)
    print(json.dumps({"path": str(ids_path(config)), **stats}, indent=None if args.json else 2))
    return 0


def cmd_semids_train(args: argparse.Namespace) -> int:
    from kit.semids.pipeline import TRAINERS, load_sequences

    config, data = _semids_config(args), load_sequences(args.dataset)
    trained = {name: TRAINERS[name](data, config, True) for name in args.models if name in TRAINERS}
    print(json.dumps(trained, indent=None if args.json else 2))
    return 0


def cmd_semids_eval(args: argparse.Namespace) -> int:
    from kit.semids.pipeline import evaluate, load_sequences

    result = evaluate(load_sequences(args.dataset), _semids_config(args), tuple(args.models))
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


def cmd_semids_recommend(args: argparse.Namespace) -> int:
    from kit.semids.pipeline import load_sequences, recommend

    if not 1 <= args.k <= 50:
        raise BadInput(f"--k must be between 1 and 50, got {args.k}")
    result = recommend(load_sequences(args.dataset), _semids_config(args), args.user, tuple(args.models), args.k)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"user {result['user']} bought (oldest first):")
    for title in result["history"]:
        print(f"  - {title[:90]}")
    print(f"held-out next item: {result['held_out_next_item'][:90]}")
    for model, rows in result["recommendations"].items():
        print(f"\n{model}:")
        for row in rows:
            mark = "  <- the real next item" if row["is_held_out_item"] else ""
            print(f"  #{row['rank'] + 1} {row['title'][:80]}{mark}\n      why: {row['why']}")
    return 0


def _check_max_items(max_items: int | None) -> None:
    """--max-items is a slice's size: a whole number of at least 1 (0 would read as 'no slice' further down)."""
    if max_items is not None and max_items < 1:
        raise BadInput(f"--max-items must be at least 1 (the items a slice keeps), got {max_items}")


def cmd_demo(args: argparse.Namespace) -> int:
    """What `make demo` builds before the app serves, with a few real answers as a check (the app itself is
    apps/assistant.py, which calls the same :func:`kit.assistant.build_assistant`)."""
    import time

    from kit.assistant import build_assistant
    from kit.bundled_catalogs import DEFAULT_CATALOG, photo_query_catalog

    _check_max_items(args.max_items)
    started = time.perf_counter()
    ensure_default_encoder()
    helper = build_assistant(prepare=True, max_items=args.max_items)  # the planner's LLM is not needed here
    for name, search in helper.searches.items():
        summary = search.catalog.summary()
        print(f"{name}: {summary['items']} items in {summary['categories']} categories, {summary['with_image']} with "
              f"photos. {summary['load_report']}")
    state = helper.new_state(DEFAULT_CATALOG)
    for text in CATALOG_TABLE[DEFAULT_CATALOG].example_queries:
        reply = helper.turn(state, text)
        print(f"  {text!r:32} -> {', '.join(c.item_id for c in reply.cards[:3])}")
    photos = photo_query_catalog()
    state = helper.new_state(photos.name)
    photo = photos.photo_queries("test")[300]
    reply = helper.turn(state, image=photo.path)
    print(f"  photo of {photo.item_id:21} -> {', '.join(c.item_id for c in reply.cards[:3])}")
    print(f"ready in {time.perf_counter() - started:.0f} s")
    return 0


def _add_setup_commands(sub) -> None:
    """Models, data and the first run: what a new user types first."""
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

    prepare = sub.add_parser("prepare", help="check the datasets and models the notebooks load; train shopkit-lit once")
    prepare.set_defaults(func=cmd_prepare)

    demo = sub.add_parser("demo", help="build what the assistant needs (catalogs, models) and check it with real turns")
    demo.add_argument("--max-items", type=int, metavar="N",
                      help="a quick look: each catalog that can be sliced keeps at most N items, every category kept")
    demo.set_defaults(func=cmd_demo)


def _add_enrich_commands(sub) -> None:
    """Catalog enrichment: attribute heads trained on a catalog's labels fill the labels it lacks."""
    from kit.enrich.features import VIEWS
    from kit.enrich.tower import TowerConfig

    enrich = sub.add_parser("enrich", help="catalog enrichment: attributes read from photos and titles")
    commands = enrich.add_subparsers(dest="enrich_command", required=True)
    train = commands.add_parser("train", help="train one head per attribute, measure it, save it")
    fill = commands.add_parser("fill", help="fill a catalog's missing labels where the heads are confident")
    for command in (train, fill):
        command.add_argument("--catalog", default=held_out_catalog().name, help=CATALOG_HELP)
        command.add_argument("--images-dir", help="where a catalog file's relative image paths point")
        command.add_argument("--view", default="photo", choices=VIEWS, help="what the heads read (default: photo)")
    train.add_argument("--attributes", nargs="+", help="columns to learn (default: the catalog's declared labels)")
    train.add_argument("--precision", type=float, default=0.95, help="the precision the operating point must keep")
    train.add_argument("--tune-photo-tower", action="store_true",
                       help="first tune the photo trunk's top stages on the labels (fashion: about 18 minutes on 2 "
                            "cores; photo article type 0.84 -> 0.88, gender 0.88 -> 0.92; docs/benchmarks.md)")
    train.add_argument("--tower-epochs", type=int, default=TowerConfig().epochs, help="epochs of the tower's tuning")
    train.add_argument("--json", action="store_true")
    train.set_defaults(func=cmd_enrich_train)
    fill.add_argument("--heads-from", help="use the heads trained on this catalog name (default: the catalog's own)")
    fill.add_argument("--out", required=True, help="the enriched catalog (.csv); the fills go beside it")
    fill.set_defaults(func=cmd_enrich_fill)


def _add_items_commands(sub) -> None:
    """Item understanding: the image-text models, search, embedding at scale, evaluation, enrichment."""
    _add_enrich_commands(sub)
    clip = sub.add_parser("clip", help="item understanding: train the image-text aligner").add_subparsers(dest="clip_command", required=True)
    train = clip.add_parser("train-lit", help="train shopkit-lit (LiT heads on frozen towers) into the cache")
    train.add_argument("--catalog", action="append", choices=list(PHOTO_CATALOGS),
                       help="a catalog to train on (repeatable; default: both)")
    train.add_argument("--epochs", type=int, default=40)
    train.add_argument("--max-items", "--fashion-items", type=int, default=None,
                       help="train on this many items per catalog only")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", default=None, help="folder to write (default: the registry cache)")
    train.set_defaults(func=cmd_train_lit)
    tune = clip.add_parser("train-ft", help="train shopkit-lit-ft (top image stages fine-tuned on cached activations)")
    tune.add_argument("--catalog", action="append", choices=list(PHOTO_CATALOGS),
                      help="a catalog to train on (repeatable; default: both)")
    tune.add_argument("--stages", type=int, default=2, help="top efficientnet stages to unfreeze (1-7)")
    tune.add_argument("--views", type=int, default=2, help="views per photo: centre crop + random resized crops")
    tune.add_argument("--epochs", type=int, default=6)
    tune.add_argument("--probe-epochs", type=int, default=20, help="heads-only epochs before fine-tuning")
    tune.add_argument("--max-items", "--fashion-items", type=int, default=None,
                      help="train on this many items per catalog only")
    tune.add_argument("--max-photos", "--grocery-photos", type=int, default=None,
                      help="train on this many labelled shopper photos only")
    tune.add_argument("--seed", type=int, default=0)
    tune.add_argument("--out", default=None, help="folder to write (default: the registry cache)")
    tune.set_defaults(func=cmd_train_ft)

    search = sub.add_parser("search", help="search a catalog by text or by image")
    search.add_argument("query", nargs="?", default="")
    search.add_argument("--catalog", default=CATALOGS[0], help=CATALOG_HELP)
    search.add_argument("--images-dir", help="where a catalog file's relative image paths point (default: its folder)")
    search.add_argument("--image", help="search by this image instead of text")
    search.add_argument("--mode", default="hybrid", choices=["hybrid", "dense", "bm25"])
    search.add_argument("--k", type=int, default=5)
    search.add_argument("--category")
    search.add_argument("--min-price", type=float)
    search.add_argument("--max-price", type=float)
    search.add_argument("--model", default=None, help="an image-text model (default: the registry's default)")
    search.add_argument("--json", action="store_true")
    search.set_defaults(func=cmd_search)

    embed = sub.add_parser("embed", help="embed a catalog into Parquet shards, here or on a Ray cluster (resumable)")
    embed.add_argument("catalog", help=CATALOG_HELP)
    embed.add_argument("--out", required=True, help="folder for the shards; run again to resume a killed job")
    embed.add_argument("--engine", default="local", help="local (this process) or ray (Ray Data actors)")
    embed.add_argument("--address", default=None, help="a Ray cluster (ray://host:10001); default: start Ray here")
    embed.add_argument("--actors", type=int, default=None, help="encoder actors (default: one per GPU, else one)")
    embed.add_argument("--limit", type=int, default=None, help="embed only the first N items")
    embed.add_argument("--model", default=None, help="an image-text model (default: the registry's default)")
    embed.add_argument("--images-dir", help="where a catalog file's relative image paths point (default: its folder)")
    embed.add_argument("--shard-size", type=int, default=1024)
    embed.add_argument("--batch-size", type=int, default=32)
    embed.add_argument("--decode-workers", type=int, default=0, help="photo-decoding processes per encoder")
    embed.add_argument("--json", action="store_true")
    embed.set_defaults(func=cmd_embed)

    evaluation = sub.add_parser("eval", help="evaluate item understanding").add_subparsers(dest="eval_command", required=True)
    retrieval = evaluation.add_parser("image-retrieval", help="grocery: photo -> product; fashion: title -> photo")
    retrieval.add_argument("--catalog", default=CATALOGS[0], help=CATALOG_HELP + "; a file is scored title -> photo")
    retrieval.add_argument("--images-dir", help="where a catalog file's relative image paths point (default: its folder)")
    retrieval.add_argument("--split", default="test", choices=["train", "val", "test"])
    retrieval.add_argument("--products", default="text", choices=["text", "image", "fused"],
                           help="how grocery products are represented")
    retrieval.add_argument("--limit", type=int, default=None, help="evaluate on the first N queries only")
    retrieval.add_argument("--max-items", type=int, default=None, metavar="N",
                           help="held-out titles: rank against the photos of a slice of N items (every category kept)")
    retrieval.add_argument("--model", default=None, help="an image-text model (default: the registry's default)")
    retrieval.add_argument("--json", action="store_true")
    retrieval.set_defaults(func=cmd_eval)


def _add_assistant_commands(sub) -> None:
    """What the assistant does, one command each: plans, speech, imagery, shopping tasks, copy."""
    plan = sub.add_parser("plan", help="turn a goal into a grounded plan and basket")
    plan.add_argument("goal")
    plan.add_argument("--catalog", default=CATALOGS[0], help=CATALOG_HELP)
    plan.add_argument("--images-dir", help="where a catalog file's relative image paths point (default: its folder)")
    plan.add_argument("--steer", action="append", help="a follow-up applied to the plan (repeatable), e.g. 'no dairy'")
    plan.add_argument("--llm", default=None, help="LLM spec (default: $KIT_LLM or local:smollm2-135m-instruct)")
    plan.add_argument("--model", default=None, help="the item encoder that grounds the plan (default: the registry's)")
    plan.add_argument("--needs", default="catalog",
                      help="catalog: needs chosen from the catalog's categories (default); free: the model names them; "
                           "ranked: the closest categories, no model call")
    plan.add_argument("--trace", action="store_true", help="print every prompt and reply")
    plan.add_argument("--json", action="store_true")
    plan.set_defaults(func=cmd_plan)

    transcribe = sub.add_parser("transcribe", help="speech to text (whisper)")
    transcribe.add_argument("file")
    transcribe.add_argument("--model", default=None, help="a speech model (default: the registry's default)")
    transcribe.add_argument("--catalog", default=None,
                            help="a catalog (name or file) whose words whisper should expect; near misses are snapped")
    transcribe.add_argument("--json", action="store_true")
    transcribe.set_defaults(func=cmd_transcribe)

    speak = sub.add_parser("speak", help="text to speech, written as a WAV file")
    speak.add_argument("text")
    speak.add_argument("-o", "--out", default="reply.wav")
    speak.add_argument("--voice", default="hibari", choices=["hibari", "espeak-ng"])
    speak.set_defaults(func=cmd_speak)

    imagery = sub.add_parser("imagery", help="generated product imagery").add_subparsers(dest="imagery_command", required=True)
    itrain = imagery.add_parser("train", help="train the kit's label-conditioned product image model (resumable)")
    itrain.add_argument("--catalog", default="fashion_products", choices=list(PHOTO_CATALOGS))
    itrain.add_argument("--minutes", type=float, default=60.0, help="training minutes this run may use (60: about "
                        "3,300 steps on 2 CPU cores); --resume continues a run from its last checkpoint")
    itrain.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    itrain.add_argument("--batch-size", type=int, default=32)
    itrain.add_argument("--resolution", type=int, default=64)
    itrain.add_argument("--lr", type=float, default=3e-4)
    itrain.add_argument("--checkpoint-every", type=int, default=250, help="steps between checkpoints (resume points)")
    itrain.add_argument("--out", default=None, help="folder to write (default: the registry cache)")
    itrain.set_defaults(func=cmd_imagery_train)
    ttext = imagery.add_parser("train-text", help="train the older text-conditioned model (grocery; resumable)")
    ttext.add_argument("--catalog", default=PHOTO_CATALOGS[0], choices=list(PHOTO_CATALOGS))
    ttext.add_argument("--steps", type=int, default=3000, help="about 3 s a step on 2 CPU cores; resumable")
    ttext.add_argument("--batch-size", type=int, default=16)
    ttext.add_argument("--resolution", type=int, default=64)
    ttext.add_argument("--lr", type=float, default=3e-4)
    ttext.add_argument("--checkpoint-every", type=int, default=250, help="steps between checkpoints (resume points)")
    ttext.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    ttext.add_argument("--out", default=None, help="folder to write (default: the registry cache)")
    ttext.set_defaults(func=cmd_imagery_train_text)
    draw = imagery.add_parser("generate", help="draw products asked for in words: PNGs labelled as generated, "
                              "and labels.json with the labels read from the words")
    draw.add_argument("text", help='e.g. "navy blue t-shirt for men"')
    draw.add_argument("--n", type=int, default=8)
    draw.add_argument("--seed", type=int, default=0)
    draw.add_argument("--steps", type=int, default=25, help="DDIM sampling steps")
    draw.add_argument("--guidance", type=float, default=3.0, help="classifier-free guidance scale")
    draw.add_argument("--model", default="shopkit-fashion-diffusion")
    draw.add_argument("--model-path", default=None, help="a trained folder instead of the registry's")
    draw.add_argument("--out", default="generated", help="folder for the PNGs and labels.json")
    draw.set_defaults(func=cmd_imagery_draw)
    generate = imagery.add_parser("edit", help="the text-conditioned model: an image from a prompt, a variation "
                                  "or a new background (always labelled as generated)")
    generate.add_argument("prompt", nargs="?", default="", help="the prompt, or the wish when --item is given")
    generate.add_argument("--item", help="build the prompt from this catalog item")
    generate.add_argument("--catalog", default=CATALOGS[0], choices=list(CATALOGS))
    generate.add_argument("--task", default="text", choices=["text", "variation", "background"])
    generate.add_argument("--image", help="the photo to vary or to put on a new background")
    generate.add_argument("--model", default="shopkit-tiny-diffusion")
    generate.add_argument("--steps", type=int, default=50)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("-o", "--out", default="generated.png")
    generate.set_defaults(func=cmd_imagery_edit)

    tasks = sub.add_parser("tasks", help="shopping tasks: a scripted shopper's success rate").add_subparsers(
        dest="tasks_command", required=True)
    run_tasks = tasks.add_parser("run", help="run a task file (tests/data/shopping_tasks.jsonl's format)")
    run_tasks.add_argument("file", help="a .jsonl task file; bad lines are reported with their number and skipped")
    run_tasks.add_argument("--catalog", default=None, help="only this catalog's tasks: " + ", ".join(CATALOGS))
    run_tasks.add_argument("--limit", type=int, default=None, help="the first N tasks only")
    run_tasks.add_argument("--json", action="store_true")
    run_tasks.set_defaults(func=cmd_tasks_run)

    from kit.generate import TONES, WRITERS

    copy = sub.add_parser("copy", help="product copy written from an item's facts and checked against its labels")
    copy.add_argument("--catalog", default=held_out_catalog().name, help=CATALOG_HELP)
    copy.add_argument("--items", type=int, default=10, help="held-out items to write for")
    copy.add_argument("--writer", default="template", help="; ".join(f"{k}: {v}" for k, v in WRITERS.items()))
    copy.add_argument("--tone", default="neutral", help=", ".join(TONES))
    copy.add_argument("--seed", type=int, default=0, help="the held-out split's seed")
    copy.add_argument("--llm", default=None, help="chat model of --writer llm (default: $KIT_LLM or local)")
    copy.add_argument("--json", action="store_true")
    copy.add_argument("--photo-facts", type=float, default=None, metavar="P",
                      help="labels an item lacks are read off its photo by the catalog's trained attribute heads "
                           "(python -m kit enrich train; on by default when trained) and, for the rest, zero-shot "
                           "when its probability reaches P")
    copy.set_defaults(func=cmd_copy)


def _add_recommenders_commands(sub) -> None:
    """Recommenders: the LLM paradigms, simulated shoppers, bundles, semantic IDs."""
    llm = sub.add_parser("llm", help="LLMs for recommendation").add_subparsers(dest="llm_command", required=True)
    paradigms = llm.add_parser("paradigms", help="the four paradigms side by side on Amazon Scientific")
    paradigms.add_argument("--users", type=int, default=50)
    paradigms.add_argument("--fit-users", type=int, default=30)
    paradigms.add_argument("--candidates", type=int, default=20)
    paradigms.add_argument("--shuffles", type=int, default=3)
    paradigms.add_argument("--seed", type=int, default=0)
    paradigms.add_argument("--llm", default=None, help="LLM spec (default: $KIT_LLM or local:smollm2-135m-instruct)")
    paradigms.add_argument("--json", action="store_true")
    paradigms.set_defaults(func=cmd_llm_paradigms)
    tune = llm.add_parser("tune", help="LoRA-tune the chat model on the shop's purchases (a mixture of item tasks) for "
                                       "--minutes; checkpoints every epoch, --resume trains an earlier run further")
    tune.add_argument("--minutes", type=float, default=60.0, help="training minutes this run (default 60)")
    tune.add_argument("--resume", action="store_true", help="continue the run with these settings for --minutes more")
    tune.add_argument("--dataset", default=datasets_of_kind("sequences")[0])
    tune.add_argument("--base", default="smollm2-135m-instruct",
                      help="the registry's chat model to tune (a larger one, or on a GPU: the same command)")
    tune.add_argument("--steps-per-epoch", type=int, default=50, help="optimizer steps between checkpoints (default 50, "
                      "about 2-3 minutes on 2 CPU cores)")
    tune.add_argument("--json", action="store_true")
    tune.set_defaults(func=cmd_llm_tune)

    from kit.simulate.datasets import SIMULATION_DATASETS
    from kit.simulate.experiment import POLICIES, SIMULATORS

    simulate = sub.add_parser("simulate", help="a simulated A/B test of recommenders, validated against real purchases")
    simulate.add_argument("--dataset", default=next(iter(SIMULATION_DATASETS)),
                          help="; ".join(f"{d.name}: {d.help}" for d in SIMULATION_DATASETS.values()))
    simulate.add_argument("--simulator", default="choice",
                          help="; ".join(f"{s.name}: {s.help}" for s in SIMULATORS.values()))
    simulate.add_argument("--policies", default=",".join(POLICIES),
                          help="comma-separated recommenders to compare: " + ", ".join(POLICIES))
    simulate.add_argument("--users", type=int, default=100, help="simulated shoppers (real test users)")
    simulate.add_argument("--page-size", type=int, default=10, help="items per page (validation chance is 1/this)")
    simulate.add_argument("--offline-users", type=int, default=None, help="test users for offline recall (default all)")
    simulate.add_argument("--seed", type=int, default=0)
    simulate.add_argument("--llm", default=None, help="chat model of --simulator llm (default: $KIT_LLM or local)")
    simulate.add_argument("--json", action="store_true")
    simulate.set_defaults(func=cmd_simulate)

    bundles = sub.add_parser("bundles", help="bundle recommendation").add_subparsers(dest="bundles_command", required=True)
    for name, func, text in (("train", cmd_bundles_train, "train a model, early-stopped on tune, checkpoint to the cache"),
                             ("eval", cmd_bundles_eval, "test metrics of the cached model (trained first when missing)")):
        command = bundles.add_parser(name, help=text)
        command.add_argument("--dataset", default=datasets_of_kind("interactions")[0])
        command.add_argument("--model", default="crosscbr", choices=["popularity", "knn", "lightgcn", "crosscbr"])
        command.add_argument("--seed", type=int, default=0)
        if name == "train":
            command.add_argument("--epochs", type=int, default=100)
        command.add_argument("--json", action="store_true")
        command.set_defaults(func=func)

    from kit.semids.pipeline import MODEL_TABLE, SCORERS, TEXT_MODELS, TOKENIZERS, TRAINERS

    semids = sub.add_parser("semids", help="semantic IDs: item codes, SASRec, generative retrieval").add_subparsers(
        dest="semids_command", required=True)
    for name, func, text in (("build", cmd_semids_build, "embed item texts and give every item a unique semantic ID"),
                             ("train", cmd_semids_train, "train (or resume) the sequence models into the cache"),
                             ("eval", cmd_semids_eval, "test Recall/NDCG@10/50 per model (trains what is missing)"),
                             ("recommend", cmd_semids_recommend,
                              "a test user's next items per model, each with the history items it relied on")):
        command = semids.add_parser(name, help=text)
        command.add_argument("--dataset", default=datasets_of_kind("sequences")[0])
        command.add_argument("--text-model", default="e5-small", choices=list(TEXT_MODELS))
        command.add_argument("--tokenizer", default="rqvae", choices=list(TOKENIZERS))
        command.add_argument("--levels", type=int, default=3)
        command.add_argument("--codebook-size", type=int, default=64)
        if name == "recommend":
            command.add_argument("--models", nargs="+", default=["sasrec"], choices=list(SCORERS))
            command.add_argument("--user", type=int, default=0, help="a test user's number")
            command.add_argument("--k", type=int, default=5, help="items per model (1-50)")
        elif name != "build":
            choices = list(MODEL_TABLE) if name == "eval" else list(TRAINERS)
            command.add_argument("--models", nargs="+", default=choices, choices=choices)
        if name == "eval":
            command.add_argument("--eval-users", type=int, help="test examples for the generative models (default all)")
        command.add_argument("--json", action="store_true")
        command.set_defaults(func=func)


def _add_bench_commands(sub) -> None:
    """The benchmarks (kit/bench/)."""
    bench = sub.add_parser("bench", help="run the benchmarks and write docs/benchmarks.md")
    bench.add_argument("--out", default="docs/benchmarks.md")
    bench.add_argument("--quick", action="store_true", help="small subsets (for a smoke run)")
    from kit.bench import SECTIONS

    bench.add_argument("--only", choices=list(SECTIONS), help="run one section; the others keep their last numbers")
    bench.set_defaults(func=cmd_bench)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kit", description="ShopKit command line")
    parser.add_argument("-v", "--verbose", action="store_true", help="every library's log lines on the console")
    parser.add_argument("--log-file", help="write every log line (DEBUG, all libraries) to this file")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", required=True)
    for add_commands in (_add_setup_commands, _add_items_commands, _add_assistant_commands,
                         _add_recommenders_commands, _add_bench_commands):
        add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The CLI's error boundary: a kit error is one line (exit 2), anything else one line (exit 1) with the
    traceback behind ``--debug`` and in ``--log-file``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.log_file)
    try:
        return int(args.func(args) or 0)
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 (the boundary: our bug or the machine's, said in one line)
        log.debug("unexpected error", exc_info=True)
        if args.debug:
            import traceback

            traceback.print_exc()
        print(f"error: unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
