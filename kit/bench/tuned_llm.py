"""The chat model tuned on the shop (issue 35): next item in semantic IDs, the Yes/No ranker, steering in words,
and the training curve, from the adapter `python -m kit llm tune` saved."""

from __future__ import annotations

from kit.bench.records import Figure, Line, Panel, Section, Table, Target, Text
from kit.bench.roles import SEQUENCES


def _interval(pair: tuple[float, float]) -> str:
    return f"{pair[0]:.3f}-{pair[1]:.3f}"


def tuned_llm(quick: bool = False) -> Section:
    from kit.semids.chat_eval import ranking_report, step_profile, steering_report
    from kit.semids.pipeline import (SemidsConfig, _valid_slice, item_facts, load_sequences, load_tuned_chat,
                                     train_sasrec)
    from kit.semids.ranking import metrics_from_ranks, popularity_scorer, ranks_from_lists, ranks_from_scores

    data, config = load_sequences(SEQUENCES), SemidsConfig()
    found = load_tuned_chat(data, config)
    if found is None:
        return Section(title="The chat model tuned on the shop", quick=quick, blocks=[
            Text("No tuned adapter here: `python -m kit llm tune --minutes 60` trains one (then `make bench --only "
                 "tuned-llm`).")])
    chat, trained = found
    users = {"next": 60 if quick else 300, "ranking": 50 if quick else 1000, "steering": 30 if quick else 300}
    test = _valid_slice(data.splits["test"], users["next"], 0)
    lists, invalid = chat.recommend([e.history for e in test], k=10)
    next_item = metrics_from_ranks(ranks_from_lists(lists, test))
    free_invalid = chat.recommend([e.history for e in test[:30]], k=10, constrained=False)[1]
    popularity = metrics_from_ranks(ranks_from_scores(popularity_scorer(data), test))
    sasrec, _ = train_sasrec(data, config, progress=False)  # the cached model the semids section trained
    sasrec_next = metrics_from_ranks(ranks_from_scores(sasrec.score, test))
    ranking = ranking_report(chat, data, users=users["ranking"])
    steering = steering_report(chat, data, item_facts(SEQUENCES), sasrec.score, users=users["steering"])
    profile = step_profile(chat, data, steps=3 if quick else 8)  # last: its optimizer steps move the weights
    tuned_row = ranking.rows[next(name for name in ranking.rows if name.startswith("3 tuned"))]
    curve = trained["curve"]
    steered = steering["tuned LLM, steered in words"]
    return Section(
        title="The chat model tuned on the shop",
        quick=quick,
        settings={"adapter": trained["adapter"], "base": trained["base"], "training_minutes": trained["minutes"],
                  "users": users},
        numbers={"training": trained, "next_item": next_item, "popularity": popularity, "sasrec": sasrec_next,
                 "invalid_constrained": invalid, "invalid_unconstrained": free_invalid,
                 "ranking": {"users": ranking.users, "candidates": ranking.candidates, "rows": ranking.rows},
                 "steering": steering, "step_profile": profile},
        blocks=[
            Text(f"`{trained['base']}` with one token per semantic-ID code and LoRA on attention and MLP projections, "
                 f"trained by `python -m kit llm tune` for {trained['minutes']:.0f} minutes ({trained['epochs_run']} "
                 f"checkpointed epochs) on {SEQUENCES}'s train split, a mixture of "
                 f"{len(trained['tasks'])} tasks: " + "; ".join(f"`{k}` ({v})" for k, v in trained["tasks"].items())
                 + f". Adapter: `{trained['adapter']}` (its model card beside it)."),
            Table(["batch (draw + pack)", "forward", "backward", "optimizer", "tokens per step", "answer tokens"],
                  [[f"{profile['data']:.2f} s", f"{profile['forward']:.2f} s", f"{profile['backward']:.2f} s",
                    f"{profile['optimizer']:.2f} s", f"{profile['tokens']:.0f}", f"{profile['answer_tokens']:.0f}"]],
                  title="Where a training step's time goes (batches of "
                        f"{chat.config.batch_size} examples packed into one row, {chat.compute_dtype})"),
            Figure("tuned_llm_curve.png", "training loss and valid Recall@10 against training minutes", [
                Panel([Line("train loss", [c["minutes"] for c in curve], [c["loss"] for c in curve])],
                      "training minutes", "loss (answer tokens)"),
                Panel([Line("valid Recall@10", [c["minutes"] for c in curve], [c["valid_recall@10"] for c in curve])],
                      "training minutes", f"valid Recall@10 ({trained['valid_users']} users)")]),
            Table(["model", "Recall@10", "NDCG@10", "Recall@50", "n"],
                  [[name, m["recall@10"], m["ndcg@10"], recall_at_50, m["n"]] for name, m, recall_at_50 in
                   (("tuned LLM, constrained beams", next_item, "not measured (10 beams)"),
                    ("popularity", popularity, popularity["recall@50"]),
                    ("SASRec", sasrec_next, sasrec_next["recall@50"]))],
                  title=f"Next item in semantic IDs ({len(test)} test users, the same users for every row)"),
            Text(f"Invalid IDs: {invalid:.1%} of constrained beams, {free_invalid:.1%} of unconstrained ones (30 users)."),
            Target("tuned LLM next-item Recall@10 (constrained beams)", next_item["recall@10"], 0.05),
            Table(["ranker", "HitRate@1", "95% interval", "NDCG@10", "95% interval", "MRR", "top pick in first 3"],
                  [[name, r["HitRate@1"], _interval(r["HitRate@1 95%"]), r["NDCG@10"], _interval(r["NDCG@10 95%"]),
                    r["MRR"], r["top pick in first 3"]] for name, r in ranking.rows.items()],
                  title=f"Ranking {ranking.candidates} candidates (paradigm 3, pointwise; {ranking.users} test users)",
                  digits=3),
            Text(f"A ranker that ignores where a candidate is shown puts its top pick in the first 3 of "
                 f"{ranking.candidates} positions {3 / ranking.candidates:.0%} of the time."),
            Target("tuned ranker HitRate@1 against popularity", tuned_row["HitRate@1"],
                   ranking.rows["popularity"]["HitRate@1"]),
            Table(["who", "top 10 satisfying the constraint", "Recall@10", "95% interval"],
                  [[name, m["satisfies"], m["recall@10"], _interval(m["recall@10 95%"])] for name, m in steering.items()
                   if name != "users"],
                  title=f"Steering in words ({steering['users']} test users; constraint: the next item's own brand or "
                        "category, e.g. 'Next, by 3M:')", digits=3),
            Target("steered top 10 satisfying the constraint", steered["satisfies"], 0.9),
            Target("steered Recall@10 against SASRec filtered by the same constraint", steered["recall@10"],
                   steering["baseline filtered by the constraint"]["recall@10"]),
        ])
