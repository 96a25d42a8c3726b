"""Fill a catalog's missing labels from its photos and titles: never overwrite, report everything."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from kit.catalog import Catalog
from kit.enrich.features import item_features, load_towers
from kit.enrich.heads import AttributeHead
from kit.errors import BadInput


@dataclass(frozen=True)
class Fill:
    item_id: str
    attribute: str
    value: str
    confidence: float


@dataclass
class AttributeReport:
    """Per attribute: items that lacked it, how many were filled, and why the others were not."""

    missing: int = 0
    filled: int = 0
    not_confident: int = 0  # the head's confidence was below its operating point
    unreadable: int = 0  # the view needs a photo the item does not have


@dataclass
class EnrichResult:
    catalog: Catalog  # a new catalog: the old labels untouched, the filled ones added
    fills: list[Fill] = field(default_factory=list)
    report: dict[str, AttributeReport] = field(default_factory=dict)

    def summary(self) -> str:
        return "; ".join(f"{name}: {r.filled} of {r.missing} missing filled ({r.not_confident} not confident"
                         + (f", {r.unreadable} without a photo" if r.unreadable else "") + ")"
                         for name, r in self.report.items())


def photo_tower_of(heads: dict[str, AttributeHead]) -> str:
    """The tuned photo tower the photo heads read with ("" for the frozen trunk); heads trained together share one."""
    return next((h.photo_tower_id for h in heads.values() if "photo" in h.view), "")


def enrich(catalog: Catalog, heads: dict[str, AttributeHead], towers=None) -> EnrichResult:
    """Each head fills its attribute on the items that lack it, where its confidence reaches the operating
    point; an item that has the attribute keeps its label. The input catalog is not changed."""
    if not heads:
        raise BadInput("no heads to enrich with; train them first (kit.enrich.train_heads)")
    towers = towers or load_towers(photo_tower_of(heads))
    filled: dict[str, dict[str, str]] = {}
    result = EnrichResult(catalog)
    for attribute, head in heads.items():
        report = result.report.setdefault(attribute, AttributeReport())
        lacking = [item for item in catalog if item.attributes.get(attribute) in (None, "")]
        report.missing = len(lacking)
        readable = [item for item in lacking if item.image is not None] if "photo" in head.view else lacking
        report.unreadable = len(lacking) - len(readable)
        if not readable:
            continue
        if "photo" in head.view and head.photo_tower_id != towers.photo_tower_id:
            raise BadInput(f"the {attribute!r} head reads photos with tower {head.photo_tower_id or 'imagenet'!r}, "
                           f"not {towers.photo_tower_id or 'imagenet'!r}: pass the towers it was trained with")
        labels, confidence = head.predict(item_features(readable, head.view, towers))
        for item, label, trusted, conf in zip(readable, labels, head.trusted(confidence), confidence):
            if trusted:
                filled.setdefault(item.id, {})[attribute] = label
                result.fills.append(Fill(item.id, attribute, label, float(conf)))
                report.filled += 1
            else:
                report.not_confident += 1
    items = [replace(item, attributes={**item.attributes, **filled[item.id]}) if item.id in filled else item
             for item in catalog]
    result.catalog = Catalog(items, name=catalog.name, report=catalog.report)
    return result


def save_enriched(result: EnrichResult, path: str | Path) -> Path:
    """Write the enriched catalog as a CSV the kit's loader reads back (photos as absolute paths; load it with
    ``load_catalog(path, allow_outside_images=True)``), with the fills beside it as ``<name>.fills.csv``."""
    import pandas as pd

    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise BadInput(f"write the enriched catalog as a .csv file, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = result.catalog.to_frame()
    frame["image"] = [str(item.image) if item.image else "" for item in result.catalog]
    frame.to_csv(path, index=False)
    pd.DataFrame([vars(f) for f in result.fills], columns=["item_id", "attribute", "value", "confidence"]).to_csv(
        path.with_suffix(".fills.csv"), index=False)
    return path
