"""The assistant: turn latency in process, basket completion against simpler completers, and the public
odd-utterance table (crashes, internal errors, clarifying questions)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from kit.bench.records import Section, Table, Target, Text
from kit.bench.roles import PHOTOS, SEQUENCES

UTTERANCES = Path(__file__).resolve().parents[2] / "tests" / "data" / "odd_utterances.jsonl"


def basket_completion(helper, baskets: int = 1000) -> list[list]:
    """HitRate@10 of a held-out purchase: the graph model vs co-purchase counts, embeddings and popularity."""
    from kit.assistant.completion import EmbeddingCompletion
    from kit.bundled_catalogs import CATALOG_TABLE
    from kit.bundles.copurchase import held_out_baskets, hit_rate

    graph = helper.completer(SEQUENCES)
    model, fallback = graph.model, graph.fallback
    any_category = EmbeddingCompletion(helper.searches[SEQUENCES], other_categories=False)
    test = held_out_baskets(CATALOG_TABLE[SEQUENCES].sequences(), n=baskets, seed=0)

    def embedding(completer):
        return lambda basket, k: [p for p, _, _ in completer.rank(basket, k)]

    def graph_model(basket, k):  # what the assistant does: the graph, or the embeddings for a cold basket
        if all(model.is_cold(i) for i in basket):
            return embedding(fallback)(basket, k)
        return [s.item for s in model.complete(basket, k)]

    def counts(basket, k):  # shoppers who bought each item together with the basket, no training
        together = np.asarray(model.copurchases[basket].sum(0)).ravel().astype(float)
        together[basket] = -np.inf
        return list(np.argsort(-together, kind="stable")[:k])

    def popularity(basket, k):
        return [i for i in np.argsort(-model.degree, kind="stable") if i not in basket][:k]

    rankers = {f"{model.name} (the assistant's default)": graph_model, "co-purchase counts (no training)": counts,
               "embedding centroid, other categories (the old default; cold fallback)": embedding(fallback),
               "embedding centroid, any category": embedding(any_category), "popularity": popularity}
    cold = sum(all(model.is_cold(i) for i in b) for b, _ in test)
    return [[name, round(hit_rate(rank, test, 10), 4), len(test), cold] for name, rank in rankers.items()]


def utterance_table(helper) -> dict:
    """The public odd-utterance table through the assistant, from an empty state and with six products shown:
    crashes, internal errors, and the clarifying-question rates."""
    rows = [json.loads(line) for line in UTTERANCES.read_text(encoding="utf-8").splitlines()]
    shown = helper.turn(helper.new_state(PHOTOS), "apples").state
    counts = {"utterances": len(rows), "turns": 0, "exceptions": 0, "internal_errors": 0, "as_expected": 0}
    asked = {"ambiguous": [0, 0], "clear": [0, 0]}
    for row in rows:
        text = row["text"] * row.get("repeat", 1)
        for state in (helper.new_state(PHOTOS), shown):
            counts["turns"] += 1
            try:
                reply = helper.turn(state, text)
            except Exception:  # noqa: BLE001 (counted: turn must never raise)
                counts["exceptions"] += 1
                continue
            counts["internal_errors"] += "went wrong on my side" in reply.text
            if state is shown:
                counts["as_expected"] += row.get("tool") in (None, reply.tool)
            kind = row["kind"] if row["kind"] == "ambiguous" else ("clear" if row.get("tool") == "search" else None)
            if kind and state is not shown:
                asked[kind][0] += reply.tool == "clarify"
                asked[kind][1] += 1
    counts["ambiguous_asked"] = f"{asked['ambiguous'][0]} / {asked['ambiguous'][1]}"
    counts["clear_asked"] = f"{asked['clear'][0]} / {asked['clear'][1]}"
    return counts


def assistant(quick: bool = False) -> Section:
    from kit.assistant import build_assistant

    started = time.perf_counter()
    helper = build_assistant((PHOTOS, SEQUENCES) if quick else None)
    helper.warm_up()
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    helper.completer(SEQUENCES)
    graph_seconds = time.perf_counter() - started
    completion = basket_completion(helper, 300 if quick else 2000)
    utterances = utterance_table(helper)
    state = helper.new_state(PHOTOS)
    photo = helper.searches[PHOTOS].catalog["Granny-Smith"].image
    turns = [("first text turn", dict(text="green apples")), ("photo", dict(image=photo)),
             ("follow-up", dict(text="tell me about the second one")), ("add", dict(text="add the first one")),
             ("plan (LLM)", dict(text="I'm hosting a brunch for four on Sunday"))]
    rows = []
    for label, kwargs in turns:
        reply = helper.turn(state, **kwargs)
        state = reply.state
        rows.append([label, reply.tool, round(reply.seconds, 3)])
    text_turns = [seconds for label, tool, seconds in rows if label != "plan (LLM)"]
    return Section(
        title="The assistant", quick=quick,
        numbers={"load_seconds": load_seconds, "graph_seconds": graph_seconds, "turns": rows, "completion": completion,
                 "utterances": utterances},
        blocks=[
            Text(f"In process (the Gradio app adds its own few milliseconds). Building the assistant over "
                 f"{len(helper.searches)} catalog(s) and loading the models took {load_seconds:.1f} s (embeddings cached)."),
            Table(["turn", "tool", "seconds"], rows),
            Target("slowest turn without the LLM, once models are loaded (s)", max(text_turns), 3.0, at_most=True),
            Text("### Basket completion\n"
                 f"HitRate@10 of a held-out purchase: for each sampled {SEQUENCES} test user, the basket is their last "
                 "five items before the test item and the test item is held out (the graph was trained on the train "
                 f"split only). Loading or training the graph model took {graph_seconds:.1f} s. Embeddings: the "
                 "image-text model's text tower over the item text. 'cold baskets' counts baskets with no item in the "
                 "graph (the fallback answers)."),
            Table(["completer", "HitRate@10", "baskets", "cold baskets"], completion),
            Text("### Odd utterances\n"
                 "The public table tests/data/odd_utterances.jsonl, each utterance from an empty state and with six "
                 "products shown. 'as expected' compares the tool with the table's expectation (with products shown); "
                 "the clarifying-question rows count utterances from an empty state."),
            Table(list(utterances), [list(utterances.values())]),
            Target("turns that raised", utterances["exceptions"], 0, at_most=True),
        ])
