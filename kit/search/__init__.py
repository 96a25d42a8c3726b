"""Search over a catalog: text, image and hybrid (BM25 + dense, fused by reciprocal rank weighted to the query;
the filters a query states, such as "for men" or "black", apply)."""

from kit.search.engine import CatalogSearch, SearchResult

__all__ = ["CatalogSearch", "SearchResult"]
