"""The two image catalogs the kit ships loaders for, built from the real datasets (see data_cards/).

- ``grocery_store``: 81 products; an item's id is the dataset's fine class name (``Granny-Smith``),
  its image the iconic catalog photo, its text the name plus the product description. The store
  photos (train/val/test) are the queries: :func:`grocery_photos`.
- ``fashion_products``: the 9,583 Myntra listings that have a photo; id = the Myntra id, title = the
  product display name, category = articleType, attributes = gender, colour, season, usage, ...
  The 34,863 metadata rows without a photo are reported in the load report (kind ``no_image``).

Neither dataset has prices: items carry ``price=None``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from kit.catalog import Catalog, Item, LoadReport, RowIssue
from kit.datasets import resolve_dataset
from kit.errors import BadInput, CatalogError, UnknownDataset
from kit.images import image_size

CATALOGS = ("grocery_store", "fashion_products")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class LabeledPhoto:
    """A store photo with the catalog item it shows (the ground truth for image retrieval)."""

    path: Path
    item_id: str
    coarse_class: str


def open_catalog(name: str, strict: bool = False) -> Catalog:
    """Load a bundled catalog by name (``grocery_store`` or ``fashion_products``)."""
    if name == "grocery_store":
        return load_grocery_store(strict=strict)
    if name == "fashion_products":
        return load_fashion_products(strict=strict)
    raise UnknownDataset(f"unknown catalog {name!r}. Valid catalogs: {', '.join(CATALOGS)}.")


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace").strip() if path.is_file() else ""


def _info_fields(path: Path) -> dict[str, str]:
    """The 'Key: value' lines of a product information file (origin, volume, ...)."""
    fields = {}
    for line in _read_text(path).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("Manufacturer and volume", "Country and volume", "Manufacturing country"):
            fields[key.strip().lower().replace(" ", "_")] = " ".join(value.split())
    return fields


def load_grocery_store(strict: bool = False) -> Catalog:
    root = resolve_dataset("grocery_store").path / "dataset"
    report = LoadReport(source=str(root / "classes.csv"))
    items = []
    with open(root / "classes.csv", encoding="utf-8") as handle:
        for row_number, row in enumerate(csv.DictReader(handle), start=1):
            report.rows_read += 1
            name = row["Class Name (str)"].strip()
            iconic = root / row["Iconic Image Path (str)"].lstrip("/")
            description = _read_text(root / row["Product Description Path (str)"].lstrip("/"))
            group = Path(row["Iconic Image Path (str)"]).parts[2]  # Fruit | Vegetables | Packages
            info = _info_fields(iconic.with_name(f"{name}_Information.txt"))
            image: Path | None = iconic
            try:
                image_size(iconic)
            except BadInput as exc:
                if strict:
                    raise CatalogError(f"row {row_number}: {exc}") from exc
                report.issues.append(RowIssue(row_number, name, "bad_image", str(exc)))
                image = None
            items.append(Item(
                id=name,
                title=name.replace("-", " "),
                description=description,
                category=row["Coarse Class Name (str)"].strip(),
                attributes={"group": group, "class_id": int(row["Class ID (int)"]), **info},
                image=image,
            ))
            report.items_loaded += 1
    return Catalog(items, name="grocery_store", report=report)


def grocery_photos(split: str) -> list[LabeledPhoto]:
    """The store photos of one split (train 2,640 / val 296 / test 2,485) with their product ids."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    root = resolve_dataset("grocery_store").path / "dataset"
    with open(root / "classes.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    fine = {int(r["Class ID (int)"]): r["Class Name (str)"].strip() for r in rows}
    coarse = {int(r["Class ID (int)"]): r["Coarse Class Name (str)"].strip() for r in rows}
    photos = []
    for line in (root / f"{split}.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        rel, fine_id, _ = (part.strip() for part in line.split(","))
        photos.append(LabeledPhoto(root / rel, fine[int(fine_id)], coarse[int(fine_id)]))
    return photos


FASHION_ATTRIBUTES = ("gender", "masterCategory", "subCategory", "articleType", "baseColour", "season", "year", "usage")


def load_fashion_products(strict: bool = False) -> Catalog:
    root = resolve_dataset("fashion_products").path
    report = LoadReport(source=str(root / "styles.csv"))
    with open(root / "styles.csv", encoding="utf-8") as styles, open(root / "styles_text.csv", encoding="utf-8") as texts:
        style_rows, text_rows = list(csv.DictReader(styles)), list(csv.DictReader(texts))
    if len(style_rows) != len(text_rows):
        raise CatalogError(f"styles.csv has {len(style_rows)} rows but styles_text.csv {len(text_rows)}; they must align")
    images = {p.stem for p in (root / "images").glob("*.jpg")}
    items = []
    for row_number, (style, text) in enumerate(zip(style_rows, text_rows), start=1):
        report.rows_read += 1
        item_id = style["id"].strip()
        if item_id not in images:
            if strict:
                raise CatalogError(f"row {row_number}: product {item_id} has no photo")
            report.issues.append(RowIssue(row_number, item_id, "no_image", "no photo in images/; not a catalog item"))
            continue
        title = text["productDisplayName"].strip() or item_id
        image = root / "images" / f"{item_id}.jpg"
        try:
            image_size(image)
        except BadInput as exc:
            if strict:
                raise CatalogError(f"row {row_number}: {exc}") from exc
            report.issues.append(RowIssue(row_number, item_id, "bad_image", f"{exc}; not a catalog item"))
            continue
        attrs = {key: style[key].strip() for key in FASHION_ATTRIBUTES if style.get(key, "").strip()}
        items.append(Item(
            id=item_id,
            title=title,
            description=" ".join(f"{attrs.get('gender', '')} {attrs.get('articleType', '')} in {attrs.get('baseColour', '')}, "
                                 f"{attrs.get('usage', '')}, {attrs.get('season', '')} {attrs.get('year', '')}".split()),
            category=attrs.get("articleType", ""),
            attributes=attrs,
            image=image,
        ))
        report.items_loaded += 1
    return Catalog(items, name="fashion_products", report=report)
