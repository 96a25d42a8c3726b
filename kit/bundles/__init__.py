"""Bundle recommendation with graph neural networks (torch-geometric): data, protocol, models, completion."""

from kit.bundles.complete import BundleCompleter, complete
from kit.bundles.data import BundleDataset, load_bundles

__all__ = ["BundleCompleter", "BundleDataset", "complete", "load_bundles"]
