"""Bundle recommenders, one self-contained file each (as PyG's LightGCN): math in the docstring."""

from kit.bundles.models.crosscbr import CrossCBR
from kit.bundles.models.knn import BundleKNN
from kit.bundles.models.lightgcn import LightGCNRecommender
from kit.bundles.models.popularity import Popularity

MODELS = {"popularity": Popularity, "knn": BundleKNN, "lightgcn": LightGCNRecommender, "crosscbr": CrossCBR}
__all__ = ["MODELS", "CrossCBR", "BundleKNN", "LightGCNRecommender", "Popularity"]
