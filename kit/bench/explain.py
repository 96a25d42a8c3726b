"""Explanations of next-item recommendations (issues 21, 32), measured by what the explainer did not choose
them by: sufficiency against the simplest explainer, beside the occlusion costs."""

from __future__ import annotations

import time

from kit.bench.records import Section, Table, Text
from kit.bench.roles import SEQUENCES

USERS = {"popularity": 500, "content": 500, "sasrec": 500, "sasrec-text": 500}  # TIGER: see the text


def optional(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def explanations(quick: bool = False) -> Section:
    from kit.semids.explain import faithfulness
    from kit.semids.pipeline import SCORERS, SemidsConfig, load_sequences

    data, config = load_sequences(SEQUENCES), SemidsConfig()
    examples = [e for e in data.splits["test"] if len(e.history) >= 3]
    rows, summaries = [], {}
    for name, n in USERS.items():
        started = time.perf_counter()
        chosen = examples[:20 if quick else n]
        result = faithfulness(SCORERS[name](data, config), chosen, data.texts, name).summary()
        seconds = (time.perf_counter() - started) / max(len(chosen), 1)
        summaries[name] = {**result, "seconds_per_user": seconds}
        rows.append([name, result["users"], f"{result['explained'] / max(result['users'], 1):.2f}",
                     optional(result["median_without_named"], ".0f"), optional(result["median_without_other"], ".0f"),
                     optional(result["median_only_named"], ".0f"), optional(result["median_only_recent"], ".0f"),
                     optional(result["median_only_other"], ".0f"), optional(result["named_is_recent"], ".2f"),
                     f"{optional(result['named_beats_recent_where_they_differ'], '.2f')} ({result['differ']})",
                     f"{seconds:.2f}"])
    return Section(
        title="Explanations of next-item recommendations", quick=quick, numbers=summaries,
        settings={"dataset": SEQUENCES, "users": USERS, "min_history": 3},
        blocks=[
            Text("`python -m kit semids recommend --models ... --json` explains each recommendation by occlusion "
                 "(kit/semids/explain.py): the history items whose removal costs the item most rank places. "
                 f"{SEQUENCES} test users with at least 3 purchases; each model's top recommendation (history items "
                 f"excluded); ranks 1-based among the {data.num_items:,} items minus the history; medians over the "
                 "explained users (`kit.semids.explain.faithfulness`). *Without named* is the cost the explainer chose "
                 "the named item by, so it exceeds *without other* by construction: a description, not a test. The "
                 "test is sufficiency, which the explainer never looked at: the rank when the history is only the "
                 "named item, against only the most recent purchase (the simplest explainer, \"because you just bought "
                 "X\") and only a random other item; the last but one column counts, among users whose named item is "
                 "not their most recent purchase, how often the named item alone keeps the pick at least as high (their "
                 "number in brackets). Popularity ignores the history, so it gets no explanation and says so. TIGER "
                 "explains the same way through the log-likelihood of every item's ID (`Tiger.score`, `--models tiger`) "
                 "but is not measured here: scoring every item's ID once per left-out item takes seconds per "
                 "explanation on 2 cores."),
            Table(["model", "users", "explained", "without named", "without other", "only named", "only recent",
                   "only other", "named = most recent", "named alone >= recent alone", "seconds per user"], rows),
        ])
