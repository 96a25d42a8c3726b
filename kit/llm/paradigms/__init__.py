"""The four ways to use language models for recommendation, one module each, on one common task.

1. ``embeddings``: text embeddings of items and user histories feed a classic (content kNN) model.
2. ``features``: the LLM writes a user profile; its embedding and other signals become features of a
   learned scorer.
3. ``reranker``: the LLM ranks a candidate list itself (with position and popularity bias measured,
   and bootstrapping over shuffled orders as the mitigation).
4. ``rag``: the LLM proposes what to look for; retrieval over the catalog grounds it.

The task (``task``) is next-item ranking on Amazon Scientific with 20 candidates; ``evaluate`` runs
them side by side with kit.eval's metrics.
"""
