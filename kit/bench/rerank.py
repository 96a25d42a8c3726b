"""Re-ranking beyond accuracy (issue 20): what MMR re-ranking trades on the sequence dataset."""

from __future__ import annotations

from kit.bench.records import Figure, Line, Panel, Section, Table, Text
from kit.bench.roles import SEQUENCES

MEASURES = {"diversity": "intra-list diversity@20", "long_tail": "long-tail share@20"}


def curve_cells(r: dict) -> list[str]:
    """One re-ranking setting's table cells: its weights, then Recall@20 and the beyond-accuracy measures."""
    weights = ("relevance only" if r["diversity_weight"] == 0 and r["novelty_weight"] == 0 else
               f"diversity {r['diversity_weight']}" if r["diversity_weight"] else f"novelty {r['novelty_weight']}")
    return [weights, f"{r['recall@20']:.4f}", f"{r['diversity']:.3f}", f"{r['novelty']:.2f}", f"{r['long_tail']:.3f}",
            f"{r['coverage']:.3f}", f"{r['gini']:.3f}"]


def tradeoff_figure(name: str, caption: str, curves: dict[str, list[dict]]) -> Figure:
    """Recall@20 against diversity and against long-tail share, one line per recommender and weight kind; each
    line starts at relevance only (the first setting)."""
    panels = []
    for measure, label in MEASURES.items():
        lines = []
        for recommender, measured in curves.items():
            for prefix, key in (("diversity", "diversity_weight"), ("novelty", "novelty_weight")):
                points = [measured[0]] + [r for r in measured if r[key] > 0]
                lines.append(Line(f"{recommender}, {prefix} weight", [r[measure] for r in points],
                                  [r["recall@20"] for r in points]))
        panels.append(Panel(lines, xlabel=label, ylabel="Recall@20"))
    return Figure(name, caption, panels)


def rerank_tradeoff(quick: bool = False) -> Section:
    from kit.rerank import MMRReranker
    from kit.rerank.tradeoff import tradeoff
    from kit.semids.embeddings import item_text_embeddings
    from kit.semids.pipeline import load_sequences
    from kit.semids.ranking import content_scorer, popularity_scorer

    data = load_sequences(SEQUENCES)
    vectors = item_text_embeddings(data.texts, "minilm")
    examples = data.splits["test"][:500] if quick else data.splits["test"]
    interactions, users = data.buyers("train"), data.user_count("train")
    settings = ([MMRReranker()] + [MMRReranker(diversity=w) for w in (0.1, 0.25, 0.5, 1.0, 2.0)]
                + [MMRReranker(novelty=w) for w in (0.1, 0.25, 0.5, 1.0)])
    recommenders = {"content (last 5 purchases)": content_scorer(vectors, last=5), "popularity": popularity_scorer(data)}
    rows, curves = [], {}
    for name, score in recommenders.items():
        curves[name] = tradeoff(examples, score, vectors, interactions, users, settings, k=20, candidates=100)
        rows += [[name] + curve_cells(r) for r in curves[name]]
    return Section(
        title="Re-ranking beyond accuracy", quick=quick, numbers={"curves": curves},
        settings={"dataset": SEQUENCES, "users": len(examples), "candidates": 100, "k": 20},
        blocks=[
            Text(f"{SEQUENCES}, {len(examples):,} test users (leave-one-out next purchase). Each base recommender's top "
                 "100 are re-ranked to 20 by `kit.rerank.MMRReranker`; item vectors for diversity are MiniLM text "
                 "embeddings. Novelty is mean self-information of the share of train users who bought the item "
                 f"({users:,} users); long tail: items outside the 20% most bought; Gini over how often each item is "
                 "recommended. The bundle dataset: see the next section."),
            Table(["recommender", "re-ranking", "Recall@20", "diversity", "novelty (bits)", "long-tail share", "coverage",
                   "Gini"], rows),
            tradeoff_figure("rerank_tradeoff.png", "Recall@20 against diversity and long-tail share", curves),
        ])
