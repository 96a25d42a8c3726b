"""The datasets simulated shoppers come from, declared once: what a shopper's history is and how items are compared.

- ``amazon_scientific``: real purchase sequences (oldest first); items compared by their text vectors.
- ``youshu``: the Youshu bundle data (users choosing book lists). A shopper's history is their train bundles
  in the file's order (the data has no timestamps), the held-out choice is their first test bundle; a bundle
  is compared with others by its book set, a 64-d truncated SVD of the bundle-book matrix (bundles sharing
  books are close). Bundles have no titles, so only the choice model can shop here, not an LLM.

Both become a :class:`kit.sequences.SequenceData` plus one vector per item, so the policies, simulators and
validation of kit/simulate run on either without knowing which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from kit.datasets import datasets_of_kind
from kit.errors import BadInput
from kit.sequences import NextItemExample, SequenceData

SVD_DIMENSIONS = 64


def _purchases(name: str, text_model: str) -> tuple[SequenceData, np.ndarray]:
    from kit.semids.embeddings import item_text_embeddings
    from kit.semids.pipeline import load_sequences

    data = load_sequences(name)
    return data, item_text_embeddings(data.texts, text_model)


def bundle_vectors(bundle_items: np.ndarray, num_bundles: int, num_items: int, dimensions: int = SVD_DIMENSIONS
                   ) -> np.ndarray:
    """``(num_bundles, dimensions)``: each bundle's book set in truncated-SVD coordinates (scaled by the values)."""
    from scipy import sparse
    from scipy.sparse.linalg import svds

    holds = sparse.csr_matrix((np.ones(bundle_items.shape[1], dtype=np.float32), (bundle_items[0], bundle_items[1])),
                              shape=(num_bundles, num_items))
    left, singular, _ = svds(holds, k=dimensions, random_state=0)
    return (left * singular).astype(np.float32)


def bundle_sequences(train_pairs: np.ndarray, test_pairs: np.ndarray, bundle_sizes: np.ndarray) -> SequenceData:
    """Users' bundle choices as sequences: train rows are prefixes of each user's train bundles (in file order)
    followed by the next; a test row is all train bundles followed by the first test bundle not chosen before."""
    train: dict[int, list[int]] = {}
    for user, bundle in train_pairs.T.tolist():
        train.setdefault(user, []).append(bundle)
    splits: dict[str, list[NextItemExample]] = {"train": [], "test": []}
    for user, bundles in train.items():
        for end in range(1, len(bundles)):
            splits["train"].append(NextItemExample(user, tuple(bundles[:end]), bundles[end]))
    seen_test: set[int] = set()
    for user, bundle in test_pairs.T.tolist():
        if user in train and user not in seen_test and bundle not in train[user]:
            seen_test.add(user)
            splits["test"].append(NextItemExample(user, tuple(train[user]), bundle))
    texts = [f"Youshu bundle {b} ({int(n)} books)" for b, n in enumerate(bundle_sizes)]
    return SequenceData(texts, splits, [str(b) for b in range(len(bundle_sizes))])


def _bundle_choices(name: str, text_model: str) -> tuple[SequenceData, np.ndarray]:
    from kit.bundles.data import BI, UB, load_bundles

    graph = load_bundles(name)
    n_bundles, n_items = graph["bundle"].num_nodes, graph["item"].num_nodes
    bundle_items = graph[BI].edge_index.numpy()
    sizes = np.bincount(bundle_items[0], minlength=n_bundles)
    data = bundle_sequences(graph[UB].edge_index.numpy(), graph[UB].test_edge_index.numpy(), sizes)
    return data, bundle_vectors(bundle_items, n_bundles, n_items)


@dataclass(frozen=True)
class SimulationDataset:
    name: str
    help: str
    load: Callable[[str], tuple[SequenceData, np.ndarray]]  # text model -> (sequences, one vector per item)
    has_text: bool  # item texts an LLM shopper can read


# How shoppers are simulated on each kind of dataset in the dataset table (kit/dataset_configs/).
_BY_KIND = {
    "sequences": ("purchase sequences, items compared by text", _purchases, True),
    "interactions": ("users' bundle choices, bundles compared by their items", _bundle_choices, False),
}
SIMULATION_DATASETS: dict[str, SimulationDataset] = {
    name: SimulationDataset(name, help, partial(load, name), has_text)
    for kind, (help, load, has_text) in _BY_KIND.items() for name in datasets_of_kind(kind)
}


def check_dataset(name: str, simulator: str | None) -> SimulationDataset:
    """The dataset's record, refusing an unknown name or an LLM shopper on items without text."""
    if name not in SIMULATION_DATASETS:
        raise BadInput(f"no simulated shoppers for {name!r}; choose one of {', '.join(SIMULATION_DATASETS)}")
    dataset = SIMULATION_DATASETS[name]
    if simulator == "llm" and not dataset.has_text:
        raise BadInput(f"{name} items have no titles for an LLM shopper to read; use --simulator choice")
    return dataset


__all__ = ["SIMULATION_DATASETS", "SimulationDataset", "bundle_sequences", "bundle_vectors", "check_dataset"]
