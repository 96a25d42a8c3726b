"""Search over a catalog: text, image and hybrid (BM25 + dense, fused by reciprocal rank)."""

from kit.search.engine import CatalogSearch, SearchResult

__all__ = ["CatalogSearch", "SearchResult"]
