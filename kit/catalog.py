"""A product catalog: items with text, attributes, an optional price and an optional image.

``load_catalog(path)`` reads CSV, JSONL or Parquet (plus an image folder). Every bad row is written to
the :class:`LoadReport`, row by row; nothing is dropped silently, and ``strict=True`` turns the first
problem into a :class:`CatalogError`. What happens to a bad row:

============== =================================================
bad row        row skipped: a CSV row with more fields than the header or an unclosed quote, a JSONL line
               that is not a JSON object (reading goes on with the next line)
missing id     row skipped (there is nothing to call the item)
bad id         row skipped: an id that is not text or a whole number (a dict, a list, 1.5, true)
duplicate id   later row skipped, the first one kept
bad price      item kept with ``price=None`` (not a number, negative, infinite, or a boolean)
missing image  item kept with ``image=None``
image outside  item kept with ``image=None``: the path leaves ``images_dir`` (``allow_outside_images=True``
               allows it)
bad image      item kept with ``image=None`` (corrupt, not an image, too large)
============== =================================================

A file that is not valid in its text encoding is refused with the ``encoding=`` option to use.
"""

from __future__ import annotations

import csv
import json
import math
import numbers
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from kit.errors import BadInput, CatalogError, UnknownItem
from kit.images import image_size

ImageCheck = Literal["none", "exists", "header"]
STANDARD_COLUMNS = ("id", "title", "description", "category", "price", "image")


@dataclass(frozen=True)
class Item:
    """One product. ``attributes`` holds every other column (colour, gender, brand, ...)."""

    id: str
    title: str
    description: str = ""
    category: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    price: float | None = None
    image: Path | None = None

    @property
    def text(self) -> str:
        """The text a text encoder or BM25 sees: title, category, attributes and description."""
        attrs = ", ".join(f"{v}" for k, v in self.attributes.items() if isinstance(v, str) and v)
        parts = [self.title, self.category, attrs, self.description]
        return ". ".join(p for p in parts if p)


@dataclass(frozen=True)
class RowIssue:
    row: int  # 1-based data row (the header is not counted)
    item_id: str | None
    kind: str  # missing_id | duplicate_id | bad_price | missing_image | bad_image | no_image
    message: str


@dataclass
class LoadReport:
    source: str
    rows_read: int = 0
    items_loaded: int = 0
    issues: list[RowIssue] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return dict(Counter(issue.kind for issue in self.issues))

    def summary(self) -> str:
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(self.counts().items())) or "no problems"
        return f"{self.source}: {self.rows_read} rows read, {self.items_loaded} items loaded; {counts}"


class Catalog:
    """An ordered, id-indexed collection of :class:`Item` with the report of how it was loaded."""

    def __init__(self, items: Iterable[Item], name: str = "catalog", report: LoadReport | None = None) -> None:
        self.name = name
        self.items: list[Item] = list(items)
        self._by_id = {item.id: item for item in self.items}
        if len(self._by_id) != len(self.items):
            raise CatalogError(f"catalog {name!r} has duplicate item ids")
        self.report = report or LoadReport(source=name, rows_read=len(self.items), items_loaded=len(self.items))

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._by_id

    def __getitem__(self, item_id: str) -> Item:
        try:
            return self._by_id[item_id]
        except KeyError:
            raise UnknownItem(f"no item {item_id!r} in catalog {self.name!r}") from None

    def __repr__(self) -> str:
        return f"Catalog({self.name!r}, {len(self)} items)"

    @property
    def ids(self) -> list[str]:
        return [item.id for item in self.items]

    def categories(self) -> Counter:
        return Counter(item.category for item in self.items)

    def filter(self, category: str | None = None, min_price: float | None = None,
               max_price: float | None = None) -> "Catalog":
        """A sub-catalog; a price bound excludes items without a price."""
        def keep(item: Item) -> bool:
            if category is not None and item.category != category:
                return False
            if (min_price is not None or max_price is not None) and item.price is None:
                return False
            if min_price is not None and item.price < min_price:
                return False
            return max_price is None or item.price <= max_price

        return Catalog([i for i in self.items if keep(i)], name=self.name, report=self.report)

    def sample(self, max_items: int, seed: int = 0) -> "Catalog":
        """At most ``max_items`` items that keep every category: a smaller catalog for a quick look (a workshop
        laptop, the test suite) whose shelves are all still there.

        Each category keeps at least one item and the rest of the budget is shared in proportion to its size
        (largest remainders first); within a category the items are a seeded random choice, kept in the
        catalog's order. A catalog with more categories than ``max_items`` keeps one item of each. The
        whole catalog comes back when it already fits.
        """
        if max_items < 1:
            raise CatalogError(f"a sample needs at least one item, got max_items={max_items}")
        if len(self) <= max_items:
            return self
        groups: dict[str, list[int]] = {}
        for row, item in enumerate(self.items):
            groups.setdefault(item.category, []).append(row)
        spare = max(max_items - len(groups), 0)
        shares = {name: spare * (len(rows) - 1) / (len(self) - len(groups)) for name, rows in groups.items()}
        quota = {name: 1 + int(share) for name, share in shares.items()}
        leftover = max_items - sum(quota.values())
        for name in sorted(shares, key=lambda n: (int(shares[n]) - shares[n], n))[:max(leftover, 0)]:
            quota[name] += 1
        rng = np.random.default_rng(seed)
        keep = sorted(row for name, rows in groups.items()
                      for row in rng.choice(rows, size=min(quota[name], len(rows)), replace=False))
        return Catalog([self.items[row] for row in keep], name=self.name, report=self.report)

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for item in self.items:
            row = asdict(item)
            row.update(row.pop("attributes"))
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "items": len(self),
            "categories": len(self.categories()),
            "with_image": sum(item.image is not None for item in self.items),
            "with_price": sum(item.price is not None for item in self.items),
            "load_report": self.report.summary(),
        }


CATALOG_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".parquet")


def _read_text(path: Path, encoding: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path} is not valid {encoding} text (byte {exc.start}: {exc.object[exc.start:exc.start + 4]!r}); "
                           "load it with the file's encoding, e.g. load_catalog(path, encoding='cp1252') or "
                           "encoding='latin-1'") from None
    except LookupError:
        raise CatalogError(f"unknown text encoding {encoding!r}; try 'utf-8', 'cp1252' or 'latin-1'") from None


def _csv_records(path: Path, encoding: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(data row number, record or the reason it is malformed); a bad row never stops the rows after it."""
    lines = _read_text(path, encoding).splitlines(keepends=True)
    if not lines:
        raise CatalogError(f"{path} is empty; a catalog needs a header line with an 'id' column")
    header = [name.strip() for name in next(csv.reader(lines[:1]))]
    position, row_number = 1, 0  # position: index of the next physical line to read
    while position < len(lines):
        consumed = _Counted(lines, position)
        reader = csv.reader(consumed, strict=True)
        while True:
            start = consumed.next_line
            try:
                fields = next(reader)
            except StopIteration:
                position = len(lines)
                break
            except csv.Error as exc:  # an unclosed quote: skip its first line and read on from the next
                row_number += 1
                yield row_number, f"line {start + 1} is malformed CSV ({exc}); read on from line {start + 2}"
                position = start + 1
                break
            if not any(field.strip() for field in fields):
                continue
            row_number += 1
            if len(fields) > len(header):
                yield row_number, f"line {start + 1} has {len(fields)} fields but the header has {len(header)}"
                if consumed.next_line - start > 1:  # it swallowed the lines after it (a stray quote)
                    position = start + 1
                    break
                continue
            yield row_number, dict(zip(header, fields + [""] * (len(header) - len(fields))))


class _Counted:
    """An iterator over ``lines`` from ``start`` that knows which physical line it will hand out next."""

    def __init__(self, lines: list[str], start: int) -> None:
        self.lines, self.next_line = lines, start

    def __iter__(self) -> "_Counted":
        return self

    def __next__(self) -> str:
        if self.next_line >= len(self.lines):
            raise StopIteration
        self.next_line += 1
        return self.lines[self.next_line - 1]


def _jsonl_records(path: Path, encoding: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    row_number = 0
    for line_number, line in enumerate(_read_text(path, encoding).splitlines(), start=1):
        if not line.strip():
            continue
        row_number += 1
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield row_number, f"line {line_number} is not valid JSON ({exc.msg} at column {exc.colno})"
            continue
        yield row_number, record if isinstance(record, dict) else f"line {line_number} is a JSON {type(record).__name__}, not an object"


def _parquet_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    try:
        frame = pd.read_parquet(path)
    except (ValueError, OSError) as exc:
        raise CatalogError(f"cannot read catalog file {path} as Parquet: {exc}") from exc
    for row_number, record in enumerate(frame.to_dict(orient="records"), start=1):
        yield row_number, record


def _records(path: Path, encoding: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_records(path, encoding)
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_records(path, encoding)
    if suffix == ".parquet":
        return _parquet_records(path)
    raise CatalogError(f"unsupported catalog format {suffix!r} for {path}; use {', '.join(CATALOG_SUFFIXES)}")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def load_catalog(path: str | Path, images_dir: str | Path | None = None, *, name: str | None = None,
                 columns: dict[str, str] | None = None, strict: bool = False,
                 check_images: ImageCheck = "header", encoding: str = "utf-8",
                 allow_outside_images: bool = False) -> Catalog:
    """Load a catalog file; see the module docstring for how bad rows are handled.

    Args:
        path: a .csv, .jsonl or .parquet file.
        images_dir: where relative image paths are looked up (default: the file's folder).
        columns: renames from your column names to the standard ones, e.g. ``{"sku": "id"}``.
        strict: raise :class:`CatalogError` on the first bad row instead of reporting it.
        check_images: ``"header"`` opens each image header (catches corrupt files and bombs),
            ``"exists"`` only checks the file is there, ``"none"`` trusts the paths.
        encoding: the text encoding of a CSV or JSONL file (a UTF-8 byte-order mark is ignored).
        allow_outside_images: accept image paths that leave ``images_dir`` (absolute or ``../``).
    """
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"catalog file not found: {path}")
    images_root = Path(images_dir) if images_dir is not None else path.parent
    report = LoadReport(source=str(path))
    builder = _ItemBuilder(report, images_root, strict, check_images, allow_outside_images)
    renames = columns or {}
    has_id = False
    for row_number, record in _records(path, encoding):
        if isinstance(record, str):
            report.rows_read += 1
            builder.problem(row_number, None, "bad_row", f"{record}; row skipped")
            continue
        record = {renames.get(str(k), str(k)): v for k, v in record.items()}
        if not has_id and "id" not in record:
            raise CatalogError(f"{path} has no 'id' column (columns: {list(record)}); map one with columns=")
        has_id = True
        builder.add(row_number, record)
    return Catalog(builder.items, name=name or path.stem, report=report)


class _ItemBuilder:
    """Turns raw records into items, writing each problem to the report (or raising when strict)."""

    def __init__(self, report: LoadReport, images_root: Path, strict: bool, check_images: ImageCheck,
                 allow_outside: bool = False) -> None:
        self.report, self.images_root, self.strict, self.check_images = report, images_root, strict, check_images
        self.allow_outside = allow_outside
        self.items: list[Item] = []
        self.seen: set[str] = set()

    def problem(self, row: int, item_id: str | None, kind: str, message: str) -> None:
        if self.strict:
            raise CatalogError(f"row {row}: {message}")
        self.report.issues.append(RowIssue(row, item_id, kind, message))

    def add(self, row: int, record: dict[str, Any]) -> None:
        self.report.rows_read += 1
        if _blank(record.get("id")):
            return self.problem(row, None, "missing_id", "the id is empty; row skipped")
        item_id = _id(record["id"])
        if item_id is None:
            return self.problem(row, None, "bad_id", f"id {record['id']!r} is not text or a whole number; row skipped")
        if item_id in self.seen:
            return self.problem(row, item_id, "duplicate_id", f"id {item_id!r} appeared before; row skipped")
        self.seen.add(item_id)
        price = self._price(row, item_id, record.get("price"))
        image = self._image(row, item_id, record.get("image"))
        attributes = {k: v for k, v in record.items() if k not in STANDARD_COLUMNS and not _blank(v)}
        self.items.append(Item(
            id=item_id,
            title=str(record.get("title") or item_id).strip(),
            description="" if _blank(record.get("description")) else str(record["description"]).strip(),
            category="" if _blank(record.get("category")) else str(record["category"]).strip(),
            attributes=attributes, price=price, image=image,
        ))
        self.report.items_loaded += 1

    def _price(self, row: int, item_id: str, raw: Any) -> float | None:
        if _blank(raw):
            return None
        try:
            if isinstance(raw, (bool, np.bool_)):
                raise ValueError
            price = float(raw)
            if not math.isfinite(price) or price < 0:
                raise ValueError
            return price
        except (TypeError, ValueError, OverflowError):
            self.problem(row, item_id, "bad_price", f"price {raw!r} is not a finite, non-negative number; price left empty")
            return None

    def _image(self, row: int, item_id: str, raw: Any) -> Path | None:
        if _blank(raw):
            return None
        if "\x00" in str(raw):  # no file system takes it; Path.resolve() would raise ValueError
            self.problem(row, item_id, "bad_image", f"image path {str(raw)[:60]!r} contains a NUL character; "
                         "item kept without image")
            return None
        image = Path(str(raw))
        image = image if image.is_absolute() else self.images_root / image
        if not self.allow_outside and not image.resolve().is_relative_to(self.images_root.resolve()):
            self.problem(row, item_id, "image_outside", f"image {raw!r} is outside the image folder {self.images_root}; "
                         "item kept without image (allow_outside_images=True to allow it)")
            return None
        if self.check_images == "none":
            return image
        if not image.is_file():
            self.problem(row, item_id, "missing_image", f"image {image} does not exist; item kept without image")
            return None
        if self.check_images == "header":
            try:
                image_size(image)
            except BadInput as exc:
                self.problem(row, item_id, "bad_image", f"{exc}; item kept without image")
                return None
        return image


def _id(raw: Any) -> str | None:
    """The id as text: strings stripped, whole numbers (also 3.0) as digits; anything else is not an id."""
    if isinstance(raw, (bool, np.bool_)):
        return None
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, numbers.Integral):
        return str(int(raw))
    if isinstance(raw, numbers.Real) and math.isfinite(raw) and float(raw).is_integer():
        return str(int(raw))
    return None
