"""Planning (issue 18): the public planning benchmark (tests/data/planning_goals.jsonl) for every planner
setting, and the local model's decoding speed in each precision."""

from __future__ import annotations

import time

import numpy as np

from kit.bench.records import Section, Table, Text

SPEED_PROMPT = "Plan a picnic: what do we need?"


def local_model_speed(new_tokens: int = 48) -> list[list]:
    """Greedy decoding speed of the embedded model in float32, bfloat16 and dynamic int8 (every Linear but
    lm_head), each with the share of its tokens equal to float32's on the same prompt (quality kept or not)."""
    import copy
    import warnings

    import torch

    from kit.llm.local import LocalChatModel

    fp32 = LocalChatModel.from_registry(dtype="float32")
    tokenizer = fp32.tokenizer
    ids = tokenizer.apply_chat_template([{"role": "user", "content": SPEED_PROMPT}], add_generation_prompt=True,
                                        return_tensors="pt")
    ids = ids if isinstance(ids, torch.Tensor) else ids["input_ids"]

    def run(model) -> tuple[float, list[int]]:
        with torch.inference_mode():
            model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=4, do_sample=False,
                           pad_token_id=tokenizer.eos_token_id)  # warm-up
            started = time.perf_counter()
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                                 min_new_tokens=new_tokens, do_sample=False, pad_token_id=tokenizer.eos_token_id)
        return new_tokens / (time.perf_counter() - started), out[0, ids.shape[1]:].tolist()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        linear = {n for n, m in fp32.model.named_modules() if isinstance(m, torch.nn.Linear) and "lm_head" not in n}
        int8 = torch.ao.quantization.quantize_dynamic(copy.deepcopy(fp32.model), linear, dtype=torch.qint8)
    variants = {"float32": fp32.model, "bfloat16": copy.deepcopy(fp32.model).to(torch.bfloat16),
                "dynamic int8 (Linear, not lm_head)": int8}
    rows, reference = [], None
    for label, model in variants.items():
        speed, tokens = run(model)
        reference = reference or tokens
        rows.append([label, round(speed, 1), round(float(np.mean([a == b for a, b in zip(reference, tokens)])), 2),
                     " ".join(tokenizer.decode(tokens).split())[:60].replace("|", "/")])
    return rows


def planning(quick: bool = False) -> Section:
    from kit.bundled_catalogs import PHOTO_CATALOGS, open_catalog
    from kit.clip.encoder import ItemEncoder
    from kit.llm.factory import DEFAULT_LLM, describe_llm, load_chat_model
    from kit.llm.local import LocalChatModel
    from kit.planning import Planner
    from kit.planning.benchmark import load_goals, run_planning_benchmark
    from kit.search import CatalogSearch

    llm = LocalChatModel.from_registry(dtype="float32")
    fast = LocalChatModel.from_registry(dtype="auto")  # bfloat16 where the CPU has it natively
    fast_label = f"{fast.model.dtype}".removeprefix("torch.")
    settings = [("original prompt (free needs), float32", {"needs": "free"}, llm),
                ("catalog ranking only, no LLM", {"needs": "ranked"}, llm),
                ("constrained needs (6 candidates), float32", {"needs": "catalog", "candidates": 6}, llm),
                ("constrained needs (12 candidates), float32", {"needs": "catalog", "candidates": 12}, llm),
                (f"constrained needs (6 candidates), {fast_label} (the default)", {"needs": "catalog", "candidates": 6}, fast)]
    if describe_llm() != DEFAULT_LLM:  # a configured endpoint runs through the same code
        settings.append((f"constrained needs, `{describe_llm()}`", {"needs": "catalog"}, load_chat_model()))
    encoder = ItemEncoder.from_pretrained()
    rows, examples, summaries = [], [], []
    for catalog_name in PHOTO_CATALOGS:
        search = CatalogSearch.build(open_catalog(catalog_name), encoder)
        goals = load_goals(catalog=catalog_name)[: 3 if quick else None]
        for label, options, model in settings:
            planner = Planner(model, search, **options)
            planner.plan("a warm-up plan")  # model and vocabulary loaded, caches filled
            report = run_planning_benchmark(planner, label, goals)
            summary = report.summary()
            summaries.append({"catalog": catalog_name, "setting": label, **summary})
            rows.append([catalog_name, f"{label} · {planner.model_name}", summary["goals"], summary["fitting_share"],
                         summary["coverage"], summary["items_per_plan"], summary["p50_s"], summary["p90_s"],
                         summary["first_step_p50_s"]])
            if model is fast and options.get("needs") == "catalog":
                examples += [f"- {catalog_name}, '{s.goal}': " + ", ".join(f"{t} ({c})" for t, c in s.basket[:4])
                             + f" — fitting {s.fitting_share:.2f}" for s in report.scores[:3]]
    speed = local_model_speed()
    goals = load_goals()
    return Section(
        title="Planning",
        settings={"settings": [label for label, _, _ in settings], "goals": len(goals)},
        numbers={"summaries": summaries, "speed": speed},
        quick=quick,
        blocks=[
            Text(f"Benchmark: tests/data/planning_goals.jsonl, {len(goals)} public goals "
                 f"({', '.join(f'{sum(g.catalog == name for g in goals)} {name}' for name in PHOTO_CATALOGS)}), each with "
                 "the categories a sensible basket draws from, written by hand. Fitting share: basket items whose "
                 "category is one of the goal's; coverage: share of the goal's categories in the basket; seconds: goal "
                 "to finished plan, warm; first step: goal to the first progress event a UI can show (`Planner.stream`)."),
            Table(["catalog", "planner · model", "goals", "fitting share", "category coverage", "items per plan",
                   "p50 s", "p90 s", "first step p50 s"], rows),
            Text(f"Example baskets (constrained needs, 6 candidates, {fast_label}):\n\n" + "\n".join(examples)),
            Text(f"Local model speed (greedy decoding, 48 new tokens, warm, prompt '{SPEED_PROMPT}'), and how many of "
                 "its tokens equal float32's:"),
            Table(["precision", "tokens/s", "same tokens as float32", "text"], speed),
        ])
