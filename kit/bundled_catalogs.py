"""The catalogs the kit ships loaders for, built from the real datasets (see data_cards/), as one table.

``CATALOG_TABLE`` is the single definition that the CLI's ``--catalog`` choices, the app's dropdown and
the assistant read; adding a catalog is one new :class:`CatalogSpec`. ``open_catalog`` also takes the
path of your own catalog file (CSV/JSONL/Parquet, images next to it or in ``images_dir``).

- ``grocery_store``: 81 products; an item's id is the dataset's fine class name (``Granny-Smith``),
  its image the iconic catalog photo, its text the name plus the product description. The store
  photos (train/val/test) are the queries: :func:`grocery_photos`.
- ``fashion_products``: the 9,583 Myntra listings that have a photo; id = the Myntra id, title = the
  product display name, category = articleType, attributes = gender, colour, season, usage, ...
  The 34,863 metadata rows without a photo are reported in the load report (kind ``no_image``).
- ``amazon_scientific``: 4,385 Amazon Industrial & Scientific products, text only (title, category
  path, brand), in the order of the dataset's item index, so that ``catalog.items[i]`` is item ``i``
  of the purchase sequences (kit/sequences.py): the one catalog with real co-purchase behaviour.

None of the datasets has prices: items carry ``price=None``.
"""

from __future__ import annotations

import csv
import random
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kit.catalog import Catalog, Item, LoadReport, RowIssue, load_catalog
from kit.datasets import resolve_dataset
from kit.errors import BadInput, CatalogError, UnknownDataset
from kit.images import image_size
from kit.sequences import SequenceData, load_amazon_scientific

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class LabeledPhoto:
    """A store photo with the catalog item it shows (the ground truth for image retrieval)."""

    path: Path
    item_id: str
    coarse_class: str


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
        raise BadInput(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
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


def load_amazon_scientific_catalog(strict: bool = False) -> Catalog:
    """Amazon Scientific items as a text-only catalog, in item-index order (``items[i]`` is sequence item i)."""
    data = load_amazon_scientific()  # checks every line of the files, with its number
    report = LoadReport(source=str(resolve_dataset("amazon_scientific").path / "Scientific.text"))
    items = []
    for index, (asin, text) in enumerate(zip(data.item_ids, data.texts)):
        report.rows_read += 1
        if not text:
            if strict:
                raise CatalogError(f"item {asin} (index {index}) has no text")
            report.issues.append(RowIssue(index + 1, asin, "missing_text", "no text for this item; not a catalog item"))
            continue
        title, category, brand = _scientific_fields(text)
        items.append(Item(id=asin, title=title, description=text, category=category,
                          attributes={"brand": brand, "index": index} if brand else {"index": index}))
        report.items_loaded += 1
    return Catalog(items, name="amazon_scientific", report=report)


def _scientific_fields(text: str) -> tuple[str, str, str]:
    """'TITLE. Industrial & Scientific CATEGORY PATH. BRAND.' -> (title, category path, brand)."""
    parts = [p.strip() for p in text.split(". ") if p.strip()]
    title = parts[0] if parts else text
    category = next((p for p in parts[1:] if p.startswith("Industrial & Scientific")), "")
    category = category.removeprefix("Industrial & Scientific").strip() or "Industrial & Scientific"
    brand = parts[-1].rstrip(".") if len(parts) > 2 else ""
    return title[:200], category, brand


@dataclass(frozen=True)
class WorkedPlan:
    """A worked plan for the planner's few-shot prompt: a goal, its steps with what each needs (real categories
    of the catalog), and categories the plan passed over. None is a planning-benchmark goal (tests check both)."""

    goal: str
    steps: tuple[tuple[str, tuple[str, ...]], ...]
    others: tuple[str, ...]


@dataclass(frozen=True)
class ComplementTable:
    """Which kinds of item are used together, for "what goes with it" in a catalog without purchase data.

    ``goes_with`` maps a value of ``attribute`` (a fashion item's ``subCategory``: Topwear, Shoes, Watches ...)
    to the values worn or used with it; a complement must also agree on ``agree_on`` (the same gender, or one
    of them ``neutral``: a unisex watch goes with a man's shirt). Declared from general knowledge of the
    domain, not from any task set, and listed in the catalog's data card.
    """

    attribute: str
    goes_with: tuple[tuple[str, tuple[str, ...]], ...]
    agree_on: tuple[str, ...] = ()
    neutral: tuple[str, ...] = ("Unisex",)
    prefer_same: tuple[str, ...] = ()  # attributes a complement had better share (usage, season): a small bonus

    def partners(self, value: str) -> tuple[str, ...]:
        return dict(self.goes_with).get(value, ())

    def agree(self, a: dict, b: dict) -> bool:
        """True when two items' attributes agree on every ``agree_on`` name (a missing or neutral value agrees)."""
        for name in self.agree_on:
            x, y = a.get(name), b.get(name)
            if x and y and x != y and x not in self.neutral and y not in self.neutral:
                return False
        return True


FASHION_COMPLEMENTS = ComplementTable("subCategory", (
    ("Topwear", ("Bottomwear", "Shoes", "Watches", "Belts", "Eyewear", "Bags", "Wallets", "Ties", "Cufflinks",
                 "Headwear", "Sandal", "Flip Flops", "Jewellery", "Scarves", "Mufflers")),
    ("Bottomwear", ("Topwear", "Shoes", "Belts", "Socks", "Watches", "Sandal", "Flip Flops", "Bags")),
    ("Dress", ("Shoes", "Sandal", "Bags", "Eyewear", "Jewellery", "Watches", "Scarves", "Stoles")),
    ("Apparel Set", ("Shoes", "Sandal", "Bags", "Watches", "Jewellery")),
    ("Saree", ("Sandal", "Shoes", "Bags", "Jewellery")),
    ("Shoes", ("Socks", "Topwear", "Bottomwear", "Dress", "Bags", "Eyewear", "Belts", "Watches", "Shoe Accessories")),
    ("Sandal", ("Topwear", "Bottomwear", "Dress", "Bags", "Eyewear", "Jewellery")),
    ("Flip Flops", ("Topwear", "Bottomwear", "Eyewear", "Headwear", "Bags")),
    ("Watches", ("Topwear", "Wallets", "Belts", "Eyewear", "Cufflinks", "Bags")),
    ("Bags", ("Topwear", "Dress", "Shoes", "Sandal", "Eyewear", "Wallets", "Watches", "Scarves")),
    ("Eyewear", ("Headwear", "Topwear", "Bags", "Watches", "Flip Flops", "Sandal")),
    ("Wallets", ("Belts", "Watches", "Bags", "Topwear")),
    ("Belts", ("Bottomwear", "Wallets", "Topwear", "Shoes", "Watches")),
    ("Socks", ("Shoes", "Bottomwear", "Innerwear")),
    ("Innerwear", ("Socks", "Loungewear and Nightwear")),
    ("Loungewear and Nightwear", ("Innerwear", "Flip Flops")),
    ("Ties", ("Topwear", "Cufflinks", "Belts", "Shoes", "Watches")),
    ("Cufflinks", ("Topwear", "Ties", "Watches")),
    ("Headwear", ("Eyewear", "Topwear", "Mufflers", "Gloves", "Scarves")),
    ("Mufflers", ("Topwear", "Headwear", "Gloves")),
    ("Scarves", ("Topwear", "Dress", "Headwear", "Gloves", "Bags")),
    ("Stoles", ("Topwear", "Dress", "Jewellery")),
    ("Gloves", ("Topwear", "Headwear", "Mufflers", "Scarves")),
    ("Jewellery", ("Dress", "Topwear", "Bags", "Saree")),
    ("Fragrance", ("Watches", "Wallets", "Topwear")),
), agree_on=("gender",), prefer_same=("usage", "season"))


@dataclass(frozen=True)
class CatalogSpec:
    """One bundled catalog: what it is, how to load it, and everything that differs between catalogs.

    Code that trains, evaluates or plans loops over :data:`CATALOG_TABLE` and reads these fields; it never
    types a catalog's name. A new catalog is one record (and a data card).
    """

    name: str
    display_name: str
    description: str
    load: Callable[[bool], Catalog]
    has_photos: bool
    sequences: Callable[[], SequenceData] | None = None  # purchase sequences whose item i is the catalog's item i
    # Shoppers' own photos of catalog items, per split (train/val/test): CLIP training pairs (train), the
    # validation metric (val) and the photo -> product evaluation (test). Several photos show one product.
    photo_queries: Callable[[str], list[LabeledPhoto]] | None = None
    # Share of items kept out of CLIP training (a seeded split by id, :func:`item_split`) when the items are
    # their own queries: their titles and photos are the title -> photo test. 0 when photo_queries exist.
    holdout: float = 0.0
    # Shopper queries made from held-out items' labels, e.g. "{baseColour} {articleType} for {gender}":
    # relevant = every item with the same labels.
    attribute_query: str = ""
    zero_shot: tuple[tuple[str, str], ...] = ()  # (attribute, prompt template) read off a photo without training
    hard_negatives: tuple[str, ...] = ()  # attributes whose look-alikes fill hard-negative batches in fine-tuning
    plan_examples: tuple[WorkedPlan, ...] = ()  # the planner's few-shot examples for this catalog
    example_queries: tuple[str, ...] = ()  # what a new shopper might type first (the demo check, the app's hints)
    # Labels that attribute heads learn and enrichment fills (kit/enrich): categorical, on most items, and
    # shown by a photo or a title. Its data card says how well each can be filled.
    label_attributes: tuple[str, ...] = ()
    # A plan for "four people" buys one of each need per person (food is used up per person; a laptop bag or a
    # shirt for an outfit is not): kit/planning/party.py.
    per_person: bool = False
    # What goes with what where the catalog has no purchase data (kit/assistant/completion.py); None: the
    # nearest items of other categories.
    complements: ComplementTable | None = None

    @property
    def query_attributes(self) -> tuple[str, ...]:
        """The attribute names ``attribute_query`` fills in, in order."""
        return tuple(field for _, field, _, _ in string.Formatter().parse(self.attribute_query) if field)

    @property
    def can_sample(self) -> bool:
        """Whether a smaller slice of this catalog still works: not when purchase sequences index its items by
        position (a slice would point their item i at another product)."""
        return self.sequences is None


def _plan(goal: str, steps: list[tuple[str, list[str]]], others: list[str]) -> WorkedPlan:
    return WorkedPlan(goal, tuple((title, tuple(needs)) for title, needs in steps), tuple(others))


GROCERY_PLANS = (
    _plan("a light summer lunch", [("Make a salad", ["Tomato", "Cucumber", "Avocado"]), ("Dessert", ["Melon", "Yoghurt"])],
          ["Potato", "Leek"]),
    _plan("pancakes for a lazy brunch", [("Make the batter", ["Milk", "Banana"]), ("Serve", ["Juice", "Yoghurt"])],
          ["Onion", "Cabbage"]),
    _plan("a curry night at home", [("Cook the curry", ["Onion", "Garlic", "Ginger"]), ("Serve", ["Yoghurt", "Lime"])],
          ["Kiwi", "Milk"]),
    _plan("a barbecue with friends", [("Grill vegetables", ["Pepper", "Zucchini", "Mushroom"]),
                                      ("Cold drinks", ["Juice", "Lemon"])], ["Oat-Milk", "Leek"]),
)
FASHION_PLANS = (
    _plan("a tennis weekend", [("Play", ["Sports Shoes", "Tshirts", "Socks"]), ("Stay cool", ["Caps", "Sunglasses"])],
          ["Heels", "Ties"]),
    _plan("a formal dinner for a man", [("Dress up", ["Shirts", "Trousers", "Ties"]),
                                        ("Finish the look", ["Formal Shoes", "Belts"])], ["Flip Flops", "Kurtis"]),
    _plan("a cricket match with friends", [("Play", ["Sports Shoes", "Track Pants"]),
                                           ("Watch from the stands", ["Caps", "Sunglasses"])], ["Clutches", "Ties"]),
    _plan("a long train journey", [("Travel comfortably", ["Track Pants", "Tshirts", "Flip Flops"]),
                                   ("Pack", ["Duffel Bag", "Wallets"])], ["Heels", "Cufflinks"]),
)

CATALOG_TABLE: dict[str, CatalogSpec] = {spec.name: spec for spec in (
    CatalogSpec("grocery_store", "Grocery store", "81 grocery products with catalog photos and descriptions "
                "(GroceryStoreDataset)", load_grocery_store, has_photos=True, photo_queries=grocery_photos,
                plan_examples=GROCERY_PLANS, example_queries=("green apple", "oat milk", "something for a fruit salad"),
                per_person=True),
    CatalogSpec("fashion_products", "Fashion products", "9,583 Myntra fashion listings with photos and labelled "
                "attributes", load_fashion_products, has_photos=True, holdout=0.2,
                attribute_query="{baseColour} {articleType} for {gender}",
                zero_shot=(("baseColour", "a {} product"), ("articleType", "a photo of {}"), ("gender", "a product for {}")),
                label_attributes=("articleType", "baseColour", "gender", "usage"),
                hard_negatives=("articleType", "gender"), plan_examples=FASHION_PLANS, complements=FASHION_COMPLEMENTS,
                example_queries=("black sports shoes for men", "a navy blue formal shirt", "something to keep my neck warm")),
    CatalogSpec("amazon_scientific", "Amazon Scientific", "4,385 Amazon Industrial & Scientific products, text only, "
                "with real co-purchase sequences", load_amazon_scientific_catalog, has_photos=False,
                sequences=load_amazon_scientific, example_queries=("duct tape", "nitrile gloves", "a digital caliper")),
)}
CATALOGS = tuple(CATALOG_TABLE)  # the names, in the order the CLI and the app list them
PHOTO_CATALOGS = tuple(name for name, spec in CATALOG_TABLE.items() if spec.has_photos)
DEFAULT_CATALOG = CATALOGS[0]


def photo_query_catalog() -> CatalogSpec:
    """The first bundled catalog with labelled shopper photos (photo -> product retrieval is measured on it)."""
    return next(spec for spec in CATALOG_TABLE.values() if spec.photo_queries is not None)


def held_out_catalog() -> CatalogSpec:
    """The first bundled catalog whose held-out items are its queries (title -> photo, attribute queries)."""
    return next(spec for spec in CATALOG_TABLE.values() if spec.holdout > 0)


def item_split(catalog: Catalog, holdout: float = 0.2, seed: int = 0) -> tuple[list[Item], list[Item]]:
    """(train, held-out) items: a seeded shuffle of the items sorted by id, the last ``holdout`` held out."""
    items = sorted(catalog.items, key=lambda item: item.id)
    random.Random(seed).shuffle(items)
    cut = int(round(len(items) * (1 - holdout)))
    return items[:cut], items[cut:]


def open_catalog(name_or_path: str | Path, strict: bool = False, images_dir: str | Path | None = None,
                 max_items: int | None = None) -> Catalog:
    """A bundled catalog by name, or your own catalog file by path (.csv, .jsonl or .parquet).

    ``max_items``: at most that many items, every category kept (:meth:`Catalog.sample`), for a quick look; a
    bundled catalog whose purchase sequences index its items (:attr:`CatalogSpec.can_sample`) stays whole.
    An unknown name that is not a file lists the bundled names and says that a path works too.
    """
    if max_items is not None and max_items < 1:
        raise CatalogError(f"a slice needs at least one item, got max_items={max_items}")
    spec = CATALOG_TABLE.get(str(name_or_path))
    if spec is not None:
        catalog = spec.load(strict)
        return catalog.sample(max_items) if max_items is not None and spec.can_sample else catalog
    path = Path(name_or_path)
    if path.suffix.lower() in (".csv", ".jsonl", ".ndjson", ".parquet") or path.exists():
        catalog = load_catalog(path, images_dir=images_dir, strict=strict)
        return catalog.sample(max_items) if max_items is not None else catalog
    raise UnknownDataset(f"unknown catalog {str(name_or_path)!r}. Bundled catalogs: {', '.join(CATALOGS)}; "
                         "or give the path of a .csv, .jsonl or .parquet catalog file.")
