"""Generated copy (issue 21): the hallucination rate of the template and LLM writers on held-out labelled
items, and the precision of labels read off photos (trained heads where saved, else zero-shot fill-ins)."""

from __future__ import annotations

from collections import Counter

from kit.bench.records import Section, Table, Text
from kit.bench.roles import LABELLED

THRESHOLDS = (0.5, 0.7, 0.9, 0.99)


def generated_copy(quick: bool = False) -> Section:
    from kit.bundled_catalogs import held_out_catalog, item_split, open_catalog
    from kit.clip.encoder import ItemEncoder
    from kit.generate import FactChecker, LLMWriter, TemplateWriter, write_copy
    from kit.generate.facts import LABEL_OF, MISSING
    from kit.generate.photo_facts import PhotoFacts, fill_precision
    from kit.llm.factory import describe_llm, load_chat_model

    catalog = open_catalog(LABELLED)
    items = item_split(catalog, held_out_catalog().holdout)[1][:20 if quick else 200]
    checker = FactChecker.for_catalog(catalog)
    rows, reports, wrong_types, examples = [], [], Counter(), []
    for writer in (TemplateWriter(), LLMWriter(load_chat_model())):
        report = write_copy(items, writer, checker, "neutral")
        d = report.to_dict()
        reports.append(d)
        rows.append([d["writer"], d["items"], f"{d['first_draft_hallucination_rate']:.3f}",
                     f"{d['hallucination_rate']:.3f}", d["retried"], d["dropped_sentences"], d["fell_back"],
                     f"{d['mean_words']:.1f}", f"{d['repeated_trigram_share']:.3f}", f"{d['seconds_per_item']:.2f}"])
        if isinstance(writer, LLMWriter):
            for copy in report.texts:
                wrong_types.update(f"{c['fact']} ({c['verdict']})" for c in copy.first_draft_failures)
            examples = [c for c in report.texts if c.first_draft_failures][:3]
    encoder = ItemEncoder.from_pretrained()
    photo = PhotoFacts.for_catalog(catalog, encoder)
    with_photos = [item for item in items if item.image is not None]
    vectors = encoder.encode_images([item.image for item in with_photos], on_error="raise").vectors
    fills = fill_precision(photo, with_photos, vectors, THRESHOLDS)  # heads: kit/bench/enrich.py trains them
    fill_rows = [[r["fact"], r["reader"], f"{r['threshold']:.3g}", r["items"], f"{r['coverage']:.2f}",
                  "-" if r["precision"] is None else f"{r['precision']:.2f}"] for r in fills]
    missing = {fact: sum(str(item.attributes.get(LABEL_OF[fact], "")).strip().lower() in {"", *MISSING}
                         for item in catalog.items) for fact in photo.facts}
    example_rows = [[c.id, c.first_draft[:160].replace("|", "/"),
                     "; ".join(f"{f['said']}: {f['verdict']}" for f in c.first_draft_failures)[:120],
                     c.text[:160].replace("|", "/")] for c in examples]
    blocks = [
        Text(f"`python -m kit copy --catalog {LABELLED} --items {len(items)} --writer template|llm --json`: {len(items)} "
             "held-out items (the image-text model's test split), neutral tone; LLM "
             f"`{describe_llm()}` writing plain text, headline = the catalog title. A text hallucinates when the checker "
             "finds a wrong or unsupported claim (colour, article type, gender, usage, season against the labels; a "
             "material the title does not name; any size word). First drafts are checked, sent back once with the "
             "failing claims named, and failing sentences of the second draft are dropped (an empty description falls "
             "back to the template)."),
        Table(["writer", "items", "hallucination rate, first draft", "after check and retry", "retried",
               "sentences dropped", "fell back", "mean words", "repeated trigrams", "seconds per item"], rows),
        Text("Fact types of the LLM's failing first-draft claims: "
             + (", ".join(f"{k} {v}" for k, v in wrong_types.most_common()) or "none") + "."),
        Text("What the checker cannot see: the photo (prints, patterns, fit, whether 'striped' is true), facts outside "
             "its word lists (brand claims, 'breathable', 'luxurious fabric', ingredients), negation ('not red' counts "
             "as red) and mentions of other articles ('pair with jeans' counts against a shirt)."),
        Text("Photo facts (kit/generate/photo_facts.py): a label an item lacks is read off its photo and stated (and "
             "checked) as a fact, marked 'read from the photo' in the copy's label and claims; by the catalog's trained "
             "attribute head at its stored operating point where one was trained (`python -m kit enrich train`; on by "
             f"default: {', '.join(photo.heads) or 'none trained in this run'}), else zero-shot by `{encoder.name}` "
             "when its probability reaches P (`--photo-facts P`). Measured as if each known label of the "
             f"{len(with_photos)} held-out items (the heads' test items too) were missing: coverage = share the photo "
             "would fill, precision = share of those fill-ins equal to the real label. Items of the whole catalog "
             "that lack each label (blank or 'NA'): " + ", ".join(f"{fact} {n}" for fact, n in missing.items()) + "."),
        Table(["fact", "read by", "P (head: its operating point)", "items", "coverage", "precision"], fill_rows),
    ]
    if example_rows:
        blocks.append(Table(["item", "first draft", "failing claims", "shown text"], example_rows))
    return Section(title="Generated copy", blocks=blocks, quick=quick,
                   settings={"items": len(items), "llm": describe_llm(), "thresholds": list(THRESHOLDS)},
                   numbers={"writers": reports, "fills": fills, "missing_labels": missing,
                            "failing_fact_types": dict(wrong_types)})
