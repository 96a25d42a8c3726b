"""Re-ranking any recommender's candidates for diversity, novelty and price as well as relevance."""

from kit.rerank.mmr import MMRReranker

__all__ = ["MMRReranker"]
