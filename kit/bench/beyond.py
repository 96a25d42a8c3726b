"""Beyond accuracy (issue 20): coverage, diversity, novelty, popularity Gini and long-tail share of every
recommender's top 20 on the sequence and the bundle dataset, and the bundle accuracy-diversity curve of
re-ranking CrossCBR."""

from __future__ import annotations

from collections import Counter

import numpy as np

from kit.bench.bundles import MODELS
from kit.bench.records import Section, Table, Text
from kit.bench.rerank import curve_cells, tradeoff_figure
from kit.bench.roles import BUNDLES, SEQUENCES


def bundle_models(data, quick: bool) -> dict:
    """The four bundle recommenders of the bundles section: the cached seed-0 checkpoints, trained when missing."""
    from kit.bundles.train import BundleTrainConfig, load_checkpoint, save_checkpoint, train_bundle_model
    from kit.bundles.protocol import evaluate_ranking
    from kit.errors import KitError

    models = {}
    for name in MODELS:
        try:
            models[name] = load_checkpoint(data, BUNDLES, name)[0]
        except KitError:
            result = train_bundle_model(data, BundleTrainConfig(model=name, epochs=10 if quick else 100, seed=0),
                                        progress=False)
            metrics = evaluate_ranking(result.model.score, data, "test")
            save_checkpoint(result, BUNDLES, {k: v for k, v in metrics.items() if k != "users"})
            models[name] = result.model
    return models


def beyond_accuracy_table(quick: bool = False) -> Section:
    import torch

    from kit.bundles.data import BI, UB, load_bundles
    from kit.eval import long_tail_items
    from kit.rerank import MMRReranker
    from kit.rerank.tradeoff import beyond_accuracy, tradeoff_for
    from kit.simulate.datasets import bundle_vectors
    from kit.semids.embeddings import item_text_embeddings
    from kit.semids.pipeline import SemidsConfig, load_or_build_ids, load_sequences, train_sasrec, train_tiger
    from kit.semids.ranking import content_scorer, popularity_scorer

    k, rows = 20, []
    # the sequences: full ranking, history items kept (the Semantic IDs protocol)
    data = load_sequences(SEQUENCES)
    vectors = item_text_embeddings(data.texts, "minilm")
    examples = data.splits["test"][:500] if quick else data.splits["test"]
    interactions, buyers = data.buyers("train"), data.user_count("train")
    tail = long_tail_items(interactions, list(range(data.num_items)))
    config = SemidsConfig()
    scorers = {"popularity": popularity_scorer(data), "content (last purchase)": content_scorer(vectors, last=1),
               "content (last 5)": content_scorer(vectors, last=5)}
    for name, with_text in (("sasrec", False), ("sasrec-text", True)):
        model = train_sasrec(data, config, with_text=with_text, progress=False)[0]
        scorers[name] = model.score
    for name, score in scorers.items():
        lists = []
        for start in range(0, len(examples), 512):
            chunk = examples[start:start + 512]
            scores = np.asarray(score([e.history for e in chunk]), dtype=np.float64)
            lists += [list(row) for row in np.argsort(-scores, axis=1, kind="stable")[:, :k]]
        recall = float(np.mean([e.target in ranked for e, ranked in zip(examples, lists)]))
        measured = beyond_accuracy(lists, vectors, interactions, buyers, tail)
        rows.append([SEQUENCES, name, recall] + [measured[m] for m in ("diversity", "novelty", "long_tail",
                                                                                 "coverage", "gini")])
    # TIGER spells its top 20 with constrained beams: a sample of test users (beam search is the slow part)
    tiger_users = 100 if quick else 1000
    picks = np.random.default_rng(0).choice(len(data.splits["test"]), tiger_users, replace=False)
    sample = [data.splits["test"][i] for i in sorted(picks)]
    tiger = train_tiger(data, load_or_build_ids(data, config), config, progress=False)[0]
    lists = []
    for start in range(0, len(sample), 64):
        lists += tiger.recommend([e.history for e in sample[start:start + 64]], k)[0]
    measured = beyond_accuracy(lists, vectors, interactions, buyers, tail)
    rows.append([SEQUENCES, f"tiger ({len(sample):,} sampled users)",
                 float(np.mean([e.target in ranked for e, ranked in zip(sample, lists)]))]
                + [measured[m] for m in ("diversity", "novelty", "long_tail", "coverage", "gini")])
    # the bundles: rank all bundles minus each user's train bundles (the bundles protocol)
    bundles = load_bundles(BUNDLES)
    n_bundles, n_items = bundles["bundle"].num_nodes, bundles["item"].num_nodes
    contains = bundle_vectors(bundles[BI].edge_index.numpy(), n_bundles, n_items)  # its book set, 64 SVD dimensions
    train_pairs = bundles[UB].edge_index.t().tolist()
    train_by_user: dict[int, set[int]] = {}
    for user, bundle in train_pairs:
        train_by_user.setdefault(user, set()).add(bundle)
    bundle_users = Counter(bundle for _, bundle in train_pairs)
    test_by_user: dict[int, set[int]] = {}
    for user, bundle in bundles[UB].test_edge_index.t().tolist():
        test_by_user.setdefault(user, set()).add(bundle)
    users = sorted(test_by_user)[:300] if quick else sorted(test_by_user)
    relevant = [test_by_user[u] for u in users]
    exclude = [train_by_user.get(u, set()) for u in users]
    n_users = bundles["user"].num_nodes
    models = bundle_models(bundles, quick)

    def scorer(model):
        return lambda batch: model.score(torch.tensor(batch)).float().detach().numpy()

    for name, model in models.items():
        measured = tradeoff_for(users, relevant, scorer(model), contains, bundle_users, n_users, [MMRReranker()],
                                k=k, candidates=k, exclude=exclude)[0]
        rows.append([BUNDLES, name, measured[f"recall@{k}"]] + [measured[m] for m in ("diversity", "novelty",
                                                                                        "long_tail", "coverage", "gini")])
    settings = ([MMRReranker()] + [MMRReranker(diversity=w) for w in (0.25, 0.5, 1.0, 2.0)]
                + [MMRReranker(novelty=w) for w in (0.25, 0.5, 1.0)])
    curve = tradeoff_for(users, relevant, scorer(models["crosscbr"]), contains, bundle_users, n_users, settings,
                         k=k, candidates=100, exclude=exclude)
    curve_rows = [curve_cells(r) for r in curve]
    table = [[d, name, f"{r:.4f}", f"{div:.3f}", f"{nov:.2f}", f"{lt:.3f}", f"{cov:.3f}", f"{g:.3f}"]
             for d, name, r, div, nov, lt, cov, g in rows]
    return Section(
        title="Beyond accuracy: every recommender", quick=quick, numbers={"rows": rows, "bundle_curve": curve},
        settings={"k": k, "sequence_users": len(examples), "bundle_users": len(users), "tiger_users": len(sample)},
        blocks=[
            Text(f"The top {k} of each recommender for every test user: {SEQUENCES} ({len(examples):,} users, full "
                 f"ranking over {data.num_items:,} items, history kept: the Semantic IDs protocol; SASRec models from "
                 f"their cached checkpoints) and {BUNDLES} ({len(users):,} users, all {n_bundles:,} bundles minus each "
                 "user's train bundles: the bundles protocol; seed-0 checkpoints). Diversity is intra-list: mean "
                 "pairwise cosine distance of MiniLM text vectors (sequences) or of the bundles' item sets (bundles: "
                 "the bundle-item matrix in 64 truncated-SVD dimensions, so bundles sharing items are close). Novelty: "
                 "mean self-information of the share of train users who chose the item (bits); long tail: outside the "
                 "20% most chosen; coverage: share of the catalog recommended to anyone; Gini of how often each item is "
                 "recommended. TIGER is measured on a sample of test users (its coverage is lower partly because fewer "
                 "lists are made). The LLM paradigms rank 20 sampled candidates per user, not the catalog, so their top "
                 "5's diversity, novelty, long tail, coverage and Gini are in `## LLMs for recommendation`, beside the "
                 "baselines ranked on the same candidates."),
            Table(["dataset", "recommender", f"Recall@{k}", "diversity", "novelty (bits)", "long-tail share", "coverage",
                   "Gini"], table),
            Text(f"Re-ranking CrossCBR's top 100 to {k} with `kit.rerank.MMRReranker` on {BUNDLES} (the {SEQUENCES} curve "
                 "is in the re-ranking section):"),
            Table(["re-ranking", f"Recall@{k}", "diversity", "novelty (bits)", "long-tail share", "coverage", "Gini"],
                  curve_rows),
            tradeoff_figure("rerank_tradeoff_youshu.png", "Bundles: Recall@20 against diversity and long-tail share",
                            {"CrossCBR": curve}),
        ])
