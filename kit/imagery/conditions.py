"""What the kit's label-conditioned image model is asked for: a few catalog labels, as embeddings.

A request is a dict of labels, e.g. ``{"articleType": "Tshirts", "baseColour": "Navy Blue", "gender": "Men"}``.
Each attribute has its own table of values (the ones with enough training photos) plus one extra row, the
*null* label: "any value". Training replaces a label by its null row now and then (label dropout), so the model
also learns to draw with an attribute left open, and the all-null request is the unconditional model that
classifier-free guidance (Ho & Salimans, 2022) steers away from:

    e(labels) = sum_a E_a[index_a(labels)]          (one embedding table E_a per attribute)
    eps_guided = eps(x_t, null) + w * (eps(x_t, labels) - eps(x_t, null))

The vocabulary lives in the embedding's config, so it travels with the weights and a request for a label the
model never learned is a clear error that lists the ones it knows.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin

from kit.catalog import Item
from kit.errors import BadInput

LABEL_ATTRIBUTES = ("articleType", "baseColour", "gender")  # what the fashion model is conditioned on
Labels = Mapping[str, str]


class LabelEmbedding(ModelMixin, ConfigMixin):
    """Sum of one learned vector per requested label (the null row for an attribute left open).

    Args:
        attributes: the attribute names, in order (e.g. ``("articleType", "baseColour", "gender")``).
        values: for each attribute, the values the model learns (index i = ``values[a][i]``; index
            ``len(values[a])`` is the null label).
        dim: the embedding size; the UNet adds it to its timestep embedding (``class_embed_type="identity"``).
        init_std: the tables' initial standard deviation (only at creation; loading restores the trained rows).
    """

    @register_to_config
    def __init__(self, attributes: Sequence[str] = LABEL_ATTRIBUTES, values: Sequence[Sequence[str]] = ((), (), ()),
                 dim: int = 128, init_std: float = 1.0) -> None:
        super().__init__()
        if len(attributes) != len(values):
            raise BadInput(f"{len(attributes)} attributes but {len(values)} value lists")
        self.tables = torch.nn.ModuleList(torch.nn.Embedding(len(v) + 1, dim) for v in values)
        for table in self.tables:
            torch.nn.init.normal_(table.weight, std=init_std)

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(self.config.attributes)

    def values(self, attribute: str) -> tuple[str, ...]:
        return tuple(self.config["values"][self.attributes.index(attribute)])

    def null(self) -> list[int]:
        """The indices of the all-open request (the unconditional model)."""
        return [len(v) for v in self.config["values"]]

    def indices(self, labels: Labels) -> list[int]:
        """A request's row per attribute; a label the model does not know is a :class:`BadInput` listing the known."""
        unknown = set(labels) - set(self.attributes)
        if unknown:
            raise BadInput(f"the model is conditioned on {', '.join(self.attributes)}, not {', '.join(sorted(unknown))}")
        rows = []
        for attribute, values in zip(self.attributes, self.config["values"]):
            value = labels.get(attribute)
            if value is None:
                rows.append(len(values))
            elif value in values:
                rows.append(list(values).index(value))
            else:
                raise BadInput(f"the model was not trained on {attribute} {value!r}; it knows: {', '.join(values)}")
        return rows

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        """(B, A) label rows -> (B, dim)."""
        return sum(table(indices[:, a]) for a, table in enumerate(self.tables))


def label_values(items: Sequence[Item], attributes: Sequence[str] = LABEL_ATTRIBUTES,
                 min_photos: int = 20) -> list[list[str]]:
    """Per attribute, the values at least ``min_photos`` of ``items`` carry, commonest first: what a model
    trained on these items can be asked for (rarer values train the null row)."""
    out = []
    for attribute in attributes:
        counts = Counter(item.attributes.get(attribute) for item in items if item.attributes.get(attribute))
        out.append([value for value, n in counts.most_common() if n >= min_photos])
    return out


def item_indices(items: Sequence[Item], embedding: LabelEmbedding) -> torch.Tensor:
    """(N, A) rows of each item's own labels; a value outside the vocabulary becomes that attribute's null row."""
    rows = []
    for item in items:
        row = []
        for attribute, values in zip(embedding.attributes, embedding.config["values"]):
            value = item.attributes.get(attribute)
            row.append(list(values).index(value) if value in values else len(values))
        rows.append(row)
    return torch.tensor(rows, dtype=torch.long)


def _words(text: str) -> str:
    return " " + " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split()) + " "


def _forms(value: str) -> set[str]:
    """How a shopper may write a label: 'Tshirts' -> {'tshirts', 'tshirt', 't shirt', 't shirts'}, 'Watches' -> 'watch'."""
    base = _words(value).strip()
    forms = {base, base[:-1] if base.endswith("s") else base + "s"}
    forms |= {base[:-2]} if base.endswith(("ches", "shes", "sses", "xes")) else set()
    if base.startswith("t") and base[1:2] != " " and base[1:].startswith("shirt"):
        forms |= {"t " + f[1:] for f in forms}
    return {f for f in forms if len(f) > 2}


GENDER_FORMS = {"Men": ("men", "mens", "man", "male"), "Women": ("women", "womens", "woman", "female", "ladies"),
                "Boys": ("boys", "boy"), "Girls": ("girls", "girl"), "Unisex": ("unisex",)}


def read_labels(text: str, embedding: LabelEmbedding) -> dict[str, str]:
    """The labels ``text`` names among those the model knows, the longest match first per attribute
    ("navy blue t-shirt for men" -> Tshirts, Navy Blue, Men); an attribute not named stays open."""
    words = _words(text)
    found: dict[str, str] = {}
    for attribute, values in zip(embedding.attributes, embedding.config["values"]):
        candidates = []
        for value in values:
            forms = GENDER_FORMS.get(value, ()) if attribute == "gender" else ()
            for form in {*_forms(value), *forms}:
                if f" {form} " in words:
                    candidates.append((len(form), value))
        if candidates:
            found[attribute] = max(candidates)[1]
    if not found:
        raise BadInput(f"no label the model knows in {text!r}; say an article type ({', '.join(embedding.values(embedding.attributes[0])[:8])}, ...), "
                       "a colour or a gender")
    return found
