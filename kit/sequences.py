"""Purchase sequences with item text: Amazon "Industrial and Scientific" (UniSRec preprocessing).

Each row of ``Scientific.{train,valid,test}.inter`` is one prediction: a user's item history (oldest
first) and the next item. Item ids in those files are indices into ``Scientific.item2index``; the text
file is keyed by the Amazon ASIN. :func:`load_amazon_scientific` joins them, so ``texts[i]`` is the
text of item ``i``, and checks every line (a malformed line is an error with its file and number).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from kit.datasets import resolve_dataset
from kit.errors import BadInput, CatalogError

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class NextItemExample:
    user: int
    history: tuple[int, ...]
    target: int


@dataclass
class SequenceData:
    texts: list[str]
    splits: dict[str, list[NextItemExample]] = field(default_factory=dict)
    item_ids: list[str] = field(default_factory=list)  # the dataset's own id of item i (Amazon: the ASIN)

    @property
    def num_items(self) -> int:
        return len(self.texts)

    def buyers(self, split: str = "train") -> Counter:
        """How many distinct users bought each item in ``split`` (history or target): novelty's p(i) numerator."""
        bought: dict[int, set[int]] = {}
        for example in self.splits[split]:
            bought.setdefault(example.user, set()).update((*example.history, example.target))
        return Counter(item for items in bought.values() for item in items)

    def user_count(self, split: str = "train") -> int:
        return len({example.user for example in self.splits[split]})

    def popularity(self, split: str = "train") -> Counter:
        """How often each item occurs (histories and targets) in ``split``; the popularity baseline."""
        counts: Counter = Counter()
        for example in self.splits[split]:
            counts.update(example.history)
            counts[example.target] += 1
        return counts


def sample_unseen(rng: random.Random, num_items: int, seen: Collection[int], n: int) -> list[int]:
    """``n`` distinct items drawn uniformly from those not in ``seen``, in the order drawn: the sampled negatives
    of a candidate list or a page (the LLM paradigms, the simulated shoppers' pages, the choice model's fit)."""
    if n > num_items - len(set(seen)):
        raise BadInput(f"cannot draw {n} unseen items from {num_items} with {len(set(seen))} seen")
    picked: dict[int, None] = {}
    while len(picked) < n:
        item = rng.randrange(num_items)
        if item not in seen:
            picked.setdefault(item)
    return list(picked)


def _read_rows(path: Path) -> list[list[str]]:
    if not path.exists():
        raise CatalogError(f"missing file {path}; run `python -m kit data verify amazon_scientific`")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines[1:] if line.strip()]  # the first line is RecBole's header


def load_amazon_scientific(root: str | Path | None = None) -> SequenceData:
    root = Path(root) if root is not None else resolve_dataset("amazon_scientific").path
    index = {}
    for number, row in enumerate((root / "Scientific.item2index").read_text().splitlines(), start=1):
        asin, _, position = row.partition("\t")
        if not position.strip().isdigit():
            raise CatalogError(f"{root / 'Scientific.item2index'} line {number}: expected 'ASIN<TAB>index'")
        index[asin] = int(position)
    texts = [""] * len(index)
    for number, row in enumerate(_read_rows(root / "Scientific.text"), start=2):
        if len(row) < 2 or row[0] not in index:
            raise CatalogError(f"{root / 'Scientific.text'} line {number}: unknown item or no text")
        texts[index[row[0]]] = " ".join(row[1].split())
    item_ids = [""] * len(index)
    for asin, position in index.items():
        item_ids[position] = asin
    data = SequenceData(texts, item_ids=item_ids)
    for split in SPLITS:
        path = root / f"Scientific.{split}.inter"
        examples = []
        for number, row in enumerate(_read_rows(path), start=2):
            try:
                history = tuple(int(i) for i in row[1].split())
                example = NextItemExample(int(row[0]), history, int(row[2]))
            except (IndexError, ValueError):
                raise CatalogError(f"{path} line {number}: expected 'user<TAB>item ids<TAB>next item'") from None
            if not history or max(history + (example.target,)) >= len(texts):
                raise CatalogError(f"{path} line {number}: an item id is out of range or the history is empty")
            examples.append(example)
        data.splits[split] = examples
    return data
