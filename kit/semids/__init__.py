"""Semantic IDs: short codes of discrete tokens derived from an item's text, shared by recommenders and the chat model.

One file per idea, bottom to top:

- ``embeddings``: item text vectors from the registry's text encoders (cached on disk).
- ``residual_kmeans`` and ``rqvae``: two tokenizers that turn a vector into L codes of K values each.
- ``codes``: :class:`SemanticIds`, the table of codes (plus a de-duplication level) that saves and
  loads next to the item ids, with ``semantic_id(item)`` and ``items_with_prefix(prefix)``.
- ``ranking``: the full-ranking protocol (Recall/NDCG@10/50 over every item) and the popularity baseline.
- ``sasrec``: SASRec with full cross-entropy, the ID-based bar.
- ``tiger``: a TIGER-style encoder-decoder that generates the next item's code, constrained to real codes.
- ``pipeline``: build / train / eval with checkpoints, for the CLI, the bench and the notebook.
"""
