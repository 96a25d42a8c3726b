"""Bundle datasets as one torch-geometric ``HeteroData``, in PyG's dataset pattern.

Raw files (the BGCN / CrossCBR format, tab-separated integer pairs)::

    {name}_data_size.txt      users  bundles  items
    user_bundle_train.txt     user  bundle      (train, tune and test splits of the same relation)
    user_bundle_tune.txt
    user_bundle_test.txt
    user_item.txt             user  item
    bundle_item.txt           bundle  item

``BundleDataset("youshu")`` resolves the raw folder through kit.datasets; ``BundleDataset(name, raw_dir=
folder)`` loads your own data in the same format. ``process()`` runs once and its result is cached in
``$KIT_HOME/data/processed/<name>``. Every line is checked: a malformed line or an id outside the declared
sizes raises :class:`BundleDataError` naming the file and line; nothing is skipped silently.

The graph::

    data["user"].num_nodes, data["bundle"].num_nodes, data["item"].num_nodes
    data["user", "interacts", "bundle"].edge_index        # train split
    data["user", "interacts", "bundle"].tune_edge_index   # model selection
    data["user", "interacts", "bundle"].test_edge_index   # the reported numbers
    data["user", "interacts", "item"].edge_index
    data["bundle", "contains", "item"].edge_index
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch_geometric.data import HeteroData, InMemoryDataset

from kit.config import data_cache_dir
from kit.datasets import datasets_of_kind, resolve_dataset
from kit.errors import KitError


class BPRBatch(NamedTuple):
    """A batch of BPR triples: each user, a bundle (or item) they took and a sampled one they did not."""

    users: torch.Tensor
    positives: torch.Tensor
    negatives: torch.Tensor

UB = ("user", "interacts", "bundle")
UI = ("user", "interacts", "item")
BI = ("bundle", "contains", "item")
SPLIT_FILES = {"train": "user_bundle_train.txt", "tune": "user_bundle_tune.txt", "test": "user_bundle_test.txt"}


class BundleDataError(KitError):
    """A raw bundle file that does not follow the format (the message names the file and line)."""


def read_pairs(path: Path, sizes: tuple[int, int], names: tuple[str, str]) -> torch.Tensor:
    """A (2, E) long tensor of the file's pairs, every id checked against its declared size."""
    if not path.is_file():
        raise BundleDataError(f"missing raw file {path}")
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or not all(p.lstrip("-").isdigit() for p in parts):
                raise BundleDataError(f"{path.name}:{number}: expected two tab-separated integers, got {line.rstrip()!r}")
            pair = (int(parts[0]), int(parts[1]))
            for value, size, name in zip(pair, sizes, names):
                if not 0 <= value < size:
                    raise BundleDataError(f"{path.name}:{number}: {name} id {value} is outside 0..{size - 1} "
                                          f"(the declared number of {name}s is {size})")
            rows.append(pair)
    if not rows:
        raise BundleDataError(f"{path.name} has no interactions")
    return torch.tensor(np.array(rows, dtype=np.int64).T)


def read_sizes(path: Path) -> tuple[int, int, int]:
    try:
        users, bundles, items = (int(v) for v in path.read_text().split()[:3])
    except (OSError, ValueError) as exc:
        raise BundleDataError(f"{path} must hold three integers: users, bundles, items ({exc})") from exc
    return users, bundles, items


class BundleDataset(InMemoryDataset):
    """A bundle-recommendation dataset (default: Youshu) as a single HeteroData graph."""

    def __init__(self, name: str | None = None, raw_dir: str | Path | None = None, root: str | Path | None = None,
                 force_reload: bool = False) -> None:
        name = name or default_bundle_dataset()
        self.name = name
        self._raw = Path(raw_dir) if raw_dir is not None else resolve_dataset(name).path
        self.file_prefix = next((p.name[: -len("_data_size.txt")] for p in self._raw.glob("*_data_size.txt")), name)
        fingerprint = hashlib.sha256(str(self._raw.resolve()).encode()).hexdigest()[:10]
        root = Path(root) if root is not None else data_cache_dir() / "processed" / f"{name}-{fingerprint}"
        super().__init__(str(root), force_reload=force_reload, log=False)
        self.load(self.processed_paths[0], data_cls=HeteroData)

    @property
    def raw_dir(self) -> str:
        return str(self._raw)

    @property
    def raw_file_names(self) -> list[str]:
        return [f"{self.file_prefix}_data_size.txt", *SPLIT_FILES.values(), "user_item.txt", "bundle_item.txt"]

    @property
    def processed_file_names(self) -> list[str]:
        return ["data.pt"]

    def download(self) -> None:
        missing = [f for f in self.raw_file_names if not (self._raw / f).is_file()]
        raise BundleDataError(f"{self._raw} lacks the raw files {missing}")

    def process(self) -> None:
        users, bundles, items = read_sizes(self._raw / self.raw_file_names[0])
        data = HeteroData()
        data["user"].num_nodes, data["bundle"].num_nodes, data["item"].num_nodes = users, bundles, items
        for split, file in SPLIT_FILES.items():
            key = "edge_index" if split == "train" else f"{split}_edge_index"
            data[UB][key] = read_pairs(self._raw / file, (users, bundles), ("user", "bundle"))
        data[UI].edge_index = read_pairs(self._raw / "user_item.txt", (users, items), ("user", "item"))
        data[BI].edge_index = read_pairs(self._raw / "bundle_item.txt", (bundles, items), ("bundle", "item"))
        self.save([data], self.processed_paths[0])

    def clear_cache(self) -> None:
        shutil.rmtree(self.processed_dir, ignore_errors=True)


def default_bundle_dataset() -> str:
    """The first user-bundle-item dataset of the dataset table (kit/dataset_configs/, kind ``interactions``)."""
    return datasets_of_kind("interactions")[0]


def load_bundles(name: str | None = None, raw_dir: str | Path | None = None) -> HeteroData:
    """The dataset's graph (processed once, then read from the cache); default: :func:`default_bundle_dataset`."""
    return BundleDataset(name, raw_dir=raw_dir)[0]


def summary(data: HeteroData) -> dict[str, int]:
    """Counts a researcher checks first, including the users the protocol treats specially."""
    train_users = set(data[UB].edge_index[0].tolist())
    test_users = set(data[UB].test_edge_index[0].tolist())
    return {
        "users": data["user"].num_nodes, "bundles": data["bundle"].num_nodes, "items": data["item"].num_nodes,
        "user_bundle_train": data[UB].edge_index.shape[1], "user_bundle_tune": data[UB].tune_edge_index.shape[1],
        "user_bundle_test": data[UB].test_edge_index.shape[1], "user_item": data[UI].edge_index.shape[1],
        "bundle_item": data[BI].edge_index.shape[1], "test_users": len(test_users),
        "test_users_without_train_bundles": len(test_users - train_users),
    }
