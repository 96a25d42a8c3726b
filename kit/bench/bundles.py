"""Bundle recommendation (issue 5): the BGCN/CrossCBR protocol on the bundle dataset, cold bundles, completion."""

from __future__ import annotations

import numpy as np

from kit.bench.records import Section, Table, Target, Text
from kit.bench.roles import BUNDLES

PUBLISHED = {"bgcn": ("BGCN (Chang et al., SIGIR 2020)", 0.2436, 0.1329),  # Recall@20, NDCG@20 on the same split
             "crosscbr": ("CrossCBR (Ma et al., KDD 2022)", 0.2823, 0.1670),
             "bundlegt": ("BundleGT (Wei et al., SIGIR 2023)", 0.2905, 0.1737)}
MODELS = ("popularity", "knn", "lightgcn", "crosscbr")
SEEDED = ("lightgcn", "crosscbr")  # the baselines are deterministic: one seed


def spread(values: np.ndarray) -> str:
    return f"{values.mean():.4f} ± {values.std():.4f}" if len(values) > 1 else f"{values.mean():.4f}"


def bundle_recommendation(quick: bool = False) -> Section:
    from kit.bundles.cold import cold_bundle_split
    from kit.bundles.complete import evaluate_completion
    from kit.bundles.data import load_bundles, summary
    from kit.bundles.protocol import evaluate_ranking
    from kit.bundles.train import BundleTrainConfig, save_checkpoint, train_bundle_model

    data = load_bundles(BUNDLES)
    seeds = (0,) if quick else (0, 1, 2)
    epochs = 10 if quick else 100
    rows, measured = [], {}
    for model in MODELS:
        results = []
        for seed in seeds if model in SEEDED else (0,):
            result = train_bundle_model(data, BundleTrainConfig(model=model, epochs=epochs, seed=seed), progress=False)
            metrics = evaluate_ranking(result.model.score, data, "test")
            if seed == 0:
                save_checkpoint(result, BUNDLES, {k: v for k, v in metrics.items() if k != "users"})
            results.append((metrics, result))
        r20, n20, r40 = (np.array([m[key] for m, _ in results]) for key in ("recall@20", "ndcg@20", "recall@40"))
        epochs_run = [len(r.history) for _, r in results]
        per_epoch = np.mean([r.seconds_per_epoch for _, r in results]) if results[0][1].history else 0.0
        total = float(np.mean([r.seconds for _, r in results]))
        measured[model] = {"recall@20": r20.tolist(), "ndcg@20": n20.tolist(), "recall@40": r40.tolist(),
                           "seconds": total, "epochs": epochs_run}
        rows.append([model, len(results), spread(r20), spread(n20), spread(r40),
                     f"{per_epoch:.1f} s" if per_epoch else "-", f"{total:.0f} s ({int(np.mean(epochs_run))} epochs)" if per_epoch else "-"])

    warm, cold = cold_bundle_split(data, 0.1, seed=0)
    cold_rows = []
    for model in ("popularity", "lightgcn", "crosscbr"):
        result = train_bundle_model(warm, BundleTrainConfig(model=model, epochs=epochs // 2 or 1, seed=0), progress=False)
        metrics = evaluate_ranking(result.model.score, warm, "test", only_bundles=cold)
        cold_rows.append([model, metrics["recall@20"], metrics["ndcg@20"], metrics["users"]])
    completion = evaluate_completion(data, held_out=0.1, k=10, seed=0)
    stats = summary(data)
    config = BundleTrainConfig()
    return Section(
        title="Bundle recommendation (issue 5)",
        settings={"dataset": BUNDLES, "seeds": list(seeds), "epochs": epochs, "config": vars(config)},
        numbers={"models": measured, "cold": cold_rows, "completion": completion, "summary": stats},
        quick=quick,
        blocks=[
            Text(f"{BUNDLES}: {stats['users']:,} users, {stats['bundles']:,} bundles, {stats['items']:,} items; the "
                 f"BGCN/CrossCBR protocol: train on train, early-stop on tune Recall@20 (checked every {config.eval_every} "
                 f"epochs, patience {config.patience}), report test, ranking all bundles minus each user's train bundles, "
                 f"{stats['test_users']:,} test users. Up to {epochs} epochs, batch {config.batch_size}, lr {config.lr:g}, "
                 f"L2 {config.l2:g}; each model's own settings are its class defaults (kit/bundles/models/: CrossCBR "
                 "with the paper's settings for this dataset)."),
            Table(["model", "seeds", "Recall@20", "NDCG@20", "Recall@40", "time / epoch", "training time"], rows),
            Text("Published on the same split and protocol (from the papers, not re-run here):"),
            Table(["model", "Recall@20", "NDCG@20"], [list(paper) for paper in PUBLISHED.values()]),
            Target("CrossCBR Recall@20 (mean over seeds), within 0.01 of the published CrossCBR",
                   float(np.mean(measured["crosscbr"]["recall@20"])), round(PUBLISHED["crosscbr"][1] - 0.01, 4)),
            Target("CrossCBR training minutes", measured["crosscbr"]["seconds"] / 60, 15, at_most=True),
            Table(["model", "Recall@20 (cold)", "NDCG@20 (cold)", "users"], cold_rows,
                  title=f"Cold bundles: {len(cold)} test bundles with every train/tune interaction removed"),
            Text("Cold-start protocol: for their test users the cold bundles are ranked among the cold bundles "
                 f"(random ranking: Recall@20 = {min(1.0, 20 / len(cold)):.3f}); models trained up to "
                 f"{epochs // 2 or 1} epochs, seed 0."),
            Text("### Bundle completion (leave one item out)\n"
                 f"{completion['bundles']} held-out bundles (10% of bundles, not used to build the co-occurrence); one "
                 f"item hidden; HitRate@10 of the hidden item with item co-occurrence: {completion['hit_rate@10']:.4f}."),
        ])
