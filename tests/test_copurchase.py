"""The co-purchase graph model behind basket completion: it learns who-buys-what-with-what on a toy shop,
explains each suggestion with counts from the same graph, knows its cold items, and survives a bad file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kit.bundles.copurchase import (CoPurchaseCompleter, CopurchaseTrainConfig, held_out_baskets, hit_rate,
                                    trained_completer)
from kit.errors import BadInput
from kit.sequences import NextItemExample, SequenceData


def toy_shop(users: int = 60, seed: int = 0) -> SequenceData:
    """Two kinds of shoppers: bakers buy from items 0-4, painters from 5-9; item 10 is never bought."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for user in range(users):
        group = range(0, 5) if user % 2 == 0 else range(5, 10)
        bought = [int(i) for i in rng.permutation(list(group))]
        train.append(NextItemExample(user, tuple(bought[:3]), bought[3]))
        test.append(NextItemExample(user, tuple(bought[:4]), bought[4]))
    return SequenceData([f"item {i}" for i in range(11)], {"train": train, "valid": [], "test": test})


def test_it_learns_what_is_bought_together_and_says_why():
    data = toy_shop()
    torch.manual_seed(0)
    model = CoPurchaseCompleter.from_sequences(data, embedding_dim=16)
    losses = model.fit(CopurchaseTrainConfig(epochs=30, batch_size=64, lr=0.05), progress=False)
    assert losses[-1] < losses[0]
    suggestions = model.complete([0, 1], k=3)
    assert {s.item for s in suggestions} <= {2, 3, 4} and not {0, 1} & {s.item for s in suggestions}
    top = suggestions[0]
    together = int(model.copurchases[top.bought_with, top.item])
    assert top.bought_with in (0, 1) and top.shoppers == together > 0  # evidence is the graph's own count
    baskets = held_out_baskets(data, basket_size=4)
    assert hit_rate(lambda b, k: [s.item for s in model.complete(b, k)], baskets, k=2) > 0.9
    assert hit_rate(lambda b, k: list(range(k)), baskets, k=2) < 0.5  # a fixed list does not


def test_cold_items_are_known_and_refused():
    model = CoPurchaseCompleter.from_sequences(toy_shop(), embedding_dim=8)
    assert model.is_cold(10) and not model.is_cold(0) and model.is_cold(99)
    with pytest.raises(BadInput, match="cold"):
        model.complete([10], k=3)
    with pytest.raises(BadInput):
        CoPurchaseCompleter([], 3)


def test_checkpoints_round_trip_and_a_corrupt_one_is_rebuilt(tmp_path):
    data = toy_shop()
    config = CopurchaseTrainConfig(epochs=3, batch_size=64)
    path = tmp_path / "toy.safetensors"
    first = trained_completer(data, path, config, progress=False)
    again = trained_completer(data, path, config, progress=False)  # loaded, not retrained
    assert torch.equal(first.item_embeddings(), again.item_embeddings())
    path.write_bytes(b"\x00" * 10)  # a killed write or a disk error
    rebuilt = trained_completer(data, path, config, progress=False)
    assert path.stat().st_size > 100 and rebuilt.item_embeddings().shape == (11, 64)
    assert not list(tmp_path.glob("*.tmp"))
