"""Semantic IDs (issue 17): text towers for item codes, the two tokenizers, and every sequence model on the
full test split, beside the published numbers on the same file and protocol."""

from __future__ import annotations

from kit.bench.records import Section, Table, Target, Text
from kit.bench.roles import SEQUENCES

PUBLISHED = {"SASRec": (0.1080, 0.0550), "VQ-Rec (text)": (0.1238, 0.0645), "MISSRec (text + images)": (0.1360, 0.0753)}
TEXT_MODELS = ("minilm", "e5-small")


def semantic_ids(quick: bool = False) -> Section:
    from kit.semids.embeddings import item_text_embeddings
    from kit.semids.pipeline import MODEL_TABLE, SemidsConfig, build_ids, evaluate, load_sequences
    from kit.semids.ranking import cold_test_examples, content_scorer, metrics_from_ranks, ranks_from_scores

    data = load_sequences(SEQUENCES)
    towers = []
    for model in TEXT_MODELS:
        vectors = item_text_embeddings(data.texts, model)
        valid = metrics_from_ranks(ranks_from_scores(content_scorer(vectors, last=1), data.splits["valid"]))
        towers.append([model, valid["recall@10"], valid["recall@50"]])
    tokenizers = []
    for tokenizer in ("kmeans", "rqvae"):
        for model in TEXT_MODELS:
            config = SemidsConfig(text_model=model, tokenizer=tokenizer)
            if quick:
                config.rqvae.epochs = 5
            _, stats = build_ids(data, config, save=False)  # the saved IDs (and models trained on them) stay
            tokenizers.append([tokenizer, model, "/".join(f"{u:.2f}" for u in stats["usage_per_level"]),
                               stats["collided_items"], stats["largest_group"], stats["reconstruction_mse"],
                               f"{stats['seconds']:.1f}"])
    config = SemidsConfig()
    if quick:
        config.sasrec.epochs, config.tiger.epochs, config.eval_users = 1, 1, 100
    measured = tuple(name for name in MODEL_TABLE if name != "llm")  # the chat model: see the note below the table
    results = evaluate(data, config, measured, progress=False)
    rows = [[name, m["recall@10"], m["ndcg@10"], m["recall@50"], m["ndcg@50"], m["n"],
             m.get("training_minutes", "-"), m.get("peak_memory_mb", "-")] for name, m in results.items()]
    sasrec, tiger = results["sasrec"]["recall@10"], results["tiger"]
    best = max(m["recall@10"] for m in results.values())
    cold = cold_test_examples(data)
    return Section(
        title="Semantic IDs",
        settings={"dataset": SEQUENCES, "text_model": config.text_model, "tokenizer": config.tokenizer,
                  "eval_users": config.eval_users},
        numbers={"towers": towers, "tokenizers": tokenizers, "models": results, "cold_test_targets": len(cold)},
        quick=quick,
        blocks=[
            Text(f"{SEQUENCES} (registry copy, UniSRec preprocessing), full ranking over all {data.num_items:,} items for "
                 "every test user, history items not removed (RecBole's sequential protocol), early stopping on valid "
                 "Recall@10. `python -m kit semids eval --json` prints the same numbers."),
            Text("### Text towers for the codes\nValid Recall@10/50 of the content baseline (items nearest to the last "
                 "purchase): which tower puts the next purchase closer."),
            Table(["text model", "valid Recall@10", "valid Recall@50"], towers),
            Table(["tokenizer", "text model", "codes used per level", "items colliding before de-dup",
                   "largest collision group", "reconstruction MSE", "seconds"], tokenizers,
                  title="Tokenizers (3 levels x 64 codes + a de-duplication level)"),
            Text("Residual k-means clusters each level's residuals globally, so few level-2 codes combine with each "
                 "level-1 code; the RQ-VAE's learned latent spreads items over more code paths (fewer collisions). The "
                 "RQ-VAE's error is measured in the input space after its decoder, k-means' directly."),
            Table(["model", "Recall@10", "NDCG@10", "Recall@50", "NDCG@50", "n", "training minutes", "peak MB"], rows,
                  title="Next-item recommendation (test split)"),
            Text("Training minutes are what each run recorded; a run that shared the 2 cores with another job records more. "
                 "Published on the same file and protocol (from the papers, not re-run here):"),
            Table(["model", "Recall@10", "NDCG@10"], [[name, r, n] for name, (r, n) in PUBLISHED.items()]),
            Target("SASRec Recall@10, within 3% of the published SASRec", sasrec, round(0.97 * PUBLISHED["SASRec"][0], 4)),
            Target("generative retrieval (TIGER) Recall@10 against the kit's SASRec", tiger["recall@10"], round(sasrec, 4)),
            Target("the best model's Recall@10 against VQ-Rec (text)", best, PUBLISHED["VQ-Rec (text)"][0]),
            Text(f"Generative retrieval reaches {tiger['recall@10'] / max(sasrec, 1e-9):.0%} of SASRec's Recall@10; "
                 f"unconstrained beams name a missing item {tiger.get('invalid_id_share_unconstrained', 0):.1%} of the "
                 f"time, constrained beams never. Cold items: {len(cold)} test targets occur nowhere in train or valid."),
            Text("`llm` (SmolLM2-135M with one token per code, LoRA) is not in this table: its CPU default is a smoke "
                 "run, not a measurement (issue 35); `python -m kit semids eval --models llm` runs it. RecBole's SASRec "
                 "as an outside cross-check is not run: RecBole 1.2.1 pins ray<=2.6.3 and colorlog==4.7.2 beside the "
                 "kit's pins."),
            Text("Models: " + "; ".join(f"`{k}`: {v[0]}" for k, v in MODEL_TABLE.items()) + "."),
        ])
