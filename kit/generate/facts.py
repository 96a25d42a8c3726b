"""The facts a writer may state about an item: its title and the labels of its catalog record.

A label the catalog lacks (missing, or "NA") is simply not a fact: the writer is not told it, and the checker
cannot confirm a claim about it. The checker reads labels, never the photo.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kit.catalog import Item

# fact type -> the fashion catalog's attribute that holds it (Myntra's columns)
LABEL_OF = {"colour": "baseColour", "article type": "articleType", "gender": "gender", "usage": "usage",
            "season": "season"}
MISSING = {"", "na", "n/a", "none", "null"}


@dataclass(frozen=True)
class ItemFacts:
    id: str
    title: str
    labels: dict[str, str] = field(default_factory=dict)  # fact type -> value, only the ones the catalog has
    from_photo: tuple[str, ...] = ()  # fact types whose value was read off the photo (kit/generate/photo_facts.py)

    @classmethod
    def from_item(cls, item: Item) -> "ItemFacts":
        labels = {}
        for fact, attribute in LABEL_OF.items():
            value = str(item.attributes.get(attribute) or "").strip()
            if value.lower() not in MISSING:
                labels[fact] = value
        return cls(item.id, item.title, labels)

    def lines(self) -> list[str]:
        """The facts as the writer's prompt lists them."""
        return [f"title: {self.title}"] + [f"{fact}: {value}" for fact, value in self.labels.items()]
