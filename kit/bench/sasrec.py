"""SASRec reproduced (issue 36): where the kit's SASRec loses to the published number, one change at a time.

The published SASRec on Amazon Scientific (Recall@10 0.1080, NDCG@10 0.0550; the UniSRec and VQ-Rec tables)
was run with RecBole's SASRec. Each row below changes one setting of the kit's default towards RecBole's,
the last row changes all of them; the setting with the best *valid* Recall@10 is then trained with two more
seeds (the test split never chooses). Every run is cached by its settings (kit/semids/pipeline.py
``train_sasrec``), so a second ``make bench`` only re-scores.
"""

from __future__ import annotations

import dataclasses
import statistics

from kit.bench.records import Section, Table, Target, Text
from kit.bench.roles import SEQUENCES
from kit.bench.semids import PUBLISHED

# label, the change from the kit's default SASRecConfig, where the other value comes from
ABLATION: tuple[tuple[str, dict, str], ...] = (
    ("kit default", {}, "pre-norm blocks, item x sqrt(d), dropout 0.3, torch's initialisation"),
    ("dropout 0.5", {"dropout": 0.5}, "RecBole's hidden and attention dropout"),
    ("post-norm blocks", {"norm_first": False}, "the paper's and RecBole's block: LayerNorm after each residual"),
    ("LayerNorm(item + position)", {"input_norm": True}, "RecBole's input layer; no sqrt(d) scaling"),
    ("N(0, 0.02) initialisation", {"init_std": 0.02}, "RecBole's initialiser for every linear and embedding"),
    ("all four (RecBole's settings)", {"dropout": 0.5, "norm_first": False, "input_norm": True, "init_std": 0.02},
     "every change above"),
)
EXTRA_SEEDS = (1, 2)


def sasrec_ablation(quick: bool = False) -> Section:
    from kit.semids.pipeline import SemidsConfig, load_sequences, train_sasrec
    from kit.semids.ranking import metrics_from_ranks, ranks_from_scores
    from kit.semids.sasrec import SASRecConfig

    data = load_sequences(SEQUENCES)
    test = data.splits["test"][:500] if quick else data.splits["test"]

    def run(changes: dict) -> dict:
        settings = dataclasses.replace(SASRecConfig(), **changes, **({"epochs": 1} if quick else {}))
        model, summary = train_sasrec(data, SemidsConfig(sasrec=settings), progress=False)
        return {**summary, **metrics_from_ranks(ranks_from_scores(model.score, test))}

    runs = [run(changes) for _, changes, _ in (ABLATION[:2] if quick else ABLATION)]
    chosen = max(range(len(runs)), key=lambda i: runs[i]["valid_recall@10"])
    label, changes, _ = ABLATION[chosen]
    seeds = [runs[chosen]] + ([] if quick else [run({**changes, "seed": s}) for s in EXTRA_SEEDS])
    recall = [r["recall@10"] for r in seeds]
    ndcg = [r["ndcg@10"] for r in seeds]
    spread = statistics.stdev(recall) if len(recall) > 1 else 0.0
    rows = [[name, why, r["valid_recall@10"], r["recall@10"], r["ndcg@10"], r["best_epoch"], r["minutes"]]
            for (name, _, why), r in zip(ABLATION, runs)]
    published_recall, published_ndcg = PUBLISHED["SASRec"]
    by_label = {name: r for (name, _, _), r in zip(ABLATION, runs)}
    reading = []
    if not quick:
        default, init = by_label["kit default"]["recall@10"], by_label["N(0, 0.02) initialisation"]["recall@10"]
        reading = [Text(
            "Reading the rows: torch initialises position embeddings N(0, 1), while the item embeddings start at "
            "N(0, 0.02) x sqrt(hidden), so at the start of training the positions drown the items; RecBole's N(0, 0.02) "
            f"for every weight alone moves test Recall@10 from {default:.4f} to {init:.4f} "
            f"({1 - default / published_recall:.0%} -> {1 - init / published_recall:.0%} below the published number). "
            "LayerNorm on the input without that initialisation normalises the items away "
            f"({by_label['LayerNorm(item + position)']['recall@10']:.4f}); dropout 0.5 helps on its own "
            f"({by_label['dropout 0.5']['recall@10']:.4f}) but adds little on top of the initialisation "
            f"(all four, the last row: {runs[-1]['recall@10']:.4f}). "
            "Not ablated here: RecBole's runs train on every prefix of a history as its own example (batches of "
            "2,048 prefixes) and stop on valid NDCG@10; the kit trains every position of each history at once.")]
    return Section(
        title="SASRec reproduced: one change at a time (issue 36)",
        settings={"dataset": SEQUENCES, "ablation": [[n, c] for n, c, _ in ABLATION], "extra_seeds": list(EXTRA_SEEDS),
                  "test_users": len(test)},
        numbers={"runs": runs, "chosen": label, "seeds": seeds},
        quick=quick,
        blocks=[
            Text(f"{SEQUENCES}, full ranking over all {data.num_items:,} items, the same split and protocol as the "
                 "Semantic IDs table; full cross-entropy, early stopping on valid Recall@10 (patience 10). Each row "
                 "changes one setting of the kit's default towards RecBole's SASRec, which produced the published "
                 f"{published_recall} / {published_ndcg}. The row with the best valid Recall@10 ({label}) is "
                 f"trained with {len(EXTRA_SEEDS)} more seeds. Regenerate: `python -m kit bench --only sasrec`."),
            Table(["setting", "what changes", "valid Recall@10", "test Recall@10", "test NDCG@10", "best epoch",
                   "minutes"], rows),
            *reading,
            Table(["setting", "seeds", "Recall@10 mean", "Recall@10 spread (sd)", "NDCG@10 mean"],
                  [[label, len(seeds), statistics.mean(recall), spread, statistics.mean(ndcg)]],
                  title="Three seeds of the setting chosen on valid"),
            Target("SASRec Recall@10 (mean of the seeds), within 3% of the published SASRec", statistics.mean(recall),
                   round(0.97 * published_recall, 4)),
            Target("SASRec NDCG@10 (mean of the seeds), within 3% of the published SASRec", statistics.mean(ndcg),
                   round(0.97 * published_ndcg, 4)),
        ])
