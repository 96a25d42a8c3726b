"""Property-based tests (hypothesis): whatever text, bytes or rows come in, the router, the catalog loader
and the image loader answer or raise a ``KitError``, never anything else."""

from __future__ import annotations

import csv
import io
import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kit.assistant.router import clean_text, route, route_by_rules
from kit.assistant.tools import arguments
from kit.catalog import load_catalog
from kit.errors import KitError
from kit.images import load_image

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=400) | st.text(max_size=30_000, alphabet="ab \n\x00😀")


@FAST
@given(text=ANY_TEXT, has_image=st.booleans(), has_plan=st.booleans())
def test_the_router_always_chooses_a_valid_tool(text, has_image, has_plan):
    choice = route_by_rules(text, has_image=has_image, has_plan=has_plan)
    arguments(choice)  # the chosen tool's schema accepts it
    assert route(clean_text(text), None, has_image, has_plan)[0] == choice  # a turn cleans its text once, then routes


CELL = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30) | st.sampled_from(
    ["inf", "1e400", "-1", "NaN", "", '"', "../x.jpg", "/etc/passwd", "true", "0x10"])


@FAST
@given(rows=st.lists(st.lists(CELL, min_size=0, max_size=6), max_size=12), raw=st.booleans())
@example(rows=[["0", "", "", "\x00"]], raw=False)  # a NUL in the image cell once crashed Path.resolve()
def test_the_catalog_loader_reports_or_refuses_any_csv(tmp_path_factory, rows, raw):
    folder = tmp_path_factory.mktemp("csv")
    out = io.StringIO()
    if raw:  # rows glued with commas, quotes unbalanced as they come
        out.write("id,title,price,image\n" + "\n".join(",".join(r) for r in rows))
    else:
        csv.writer(out).writerows([["id", "title", "price", "image"], *rows])
    path = folder / "shop.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    try:
        catalog = load_catalog(path)
    except KitError:
        return
    assert catalog.report.items_loaded == len(catalog) <= catalog.report.rows_read
    assert all(item.image is None or item.image.resolve().is_relative_to(folder.resolve()) for item in catalog)


JSON_VALUE = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=10),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                          max_leaves=6)


@FAST
@given(records=st.lists(st.dictionaries(st.sampled_from(["id", "title", "price", "category", "x"]), JSON_VALUE, max_size=5),
                        max_size=8), junk=st.binary(max_size=40))
def test_the_catalog_loader_reports_or_refuses_any_jsonl(tmp_path_factory, records, junk):
    path = tmp_path_factory.mktemp("jsonl") / "shop.jsonl"
    path.write_bytes("\n".join(json.dumps(r) for r in records).encode() + b"\n" + junk)
    try:
        catalog = load_catalog(path)
    except KitError:
        return
    assert all(isinstance(item.id, str) for item in catalog)
    assert all(item.price is None or (item.price >= 0 and item.price != float("inf")) for item in catalog)


PNG = b"\x89PNG\r\n\x1a\n"


@FAST
@given(data=st.binary(max_size=2000) | st.binary(max_size=300).map(lambda b: PNG + b)
       | st.binary(max_size=300).map(lambda b: b"\xff\xd8\xff" + b) | st.binary(max_size=300).map(lambda b: b"GIF89a" + b))
@example(data=b"\x01\xda" + b"\x00" * 10)  # an SGI header with no mode: PIL raised ValueError from the header read
def test_the_image_loader_answers_or_refuses_any_bytes(data):
    try:
        image = load_image(data)
    except KitError:
        return
    assert image.mode == "RGB" and image.size[0] * image.size[1] > 0
