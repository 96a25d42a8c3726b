import json

import pandas as pd
import pytest
from PIL import Image

from kit.catalog import load_catalog
from kit.errors import CatalogError

HEADER = "id,title,description,category,price,image,colour\n"


@pytest.fixture()
def messy_csv(tmp_path):
    Image.new("RGB", (8, 8), "red").save(tmp_path / "good.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    rows = [
        "a1,Red apple,Crisp,Fruit,1.5,good.jpg,red",  # row 1: fine
        ",Nameless,,Fruit,2,,",  # row 2: missing id
        "a1,Apple again,,Fruit,3,,",  # row 3: duplicate id
        "b2,Banana,,Fruit,cheap,,yellow",  # row 4: bad price
        "c3,Cherry,,Fruit,4,missing.jpg,",  # row 5: missing image
        "d4,Date,,Fruit,5,broken.jpg,",  # row 6: bad image
        "e5,Eggs,,Dairy,,,",  # row 7: fine, no price no image
    ]
    path = tmp_path / "catalog.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def test_bad_rows_are_reported_row_by_row(messy_csv):
    catalog = load_catalog(messy_csv)
    report = catalog.report
    assert report.rows_read == 7 and report.items_loaded == 5 == len(catalog)
    assert [(i.row, i.kind) for i in report.issues] == [
        (2, "missing_id"), (3, "duplicate_id"), (4, "bad_price"), (5, "missing_image"), (6, "bad_image")]
    assert catalog["a1"].title == "Red apple" and catalog["a1"].price == 1.5
    assert catalog["a1"].image.name == "good.jpg" and catalog["a1"].attributes == {"colour": "red"}
    assert catalog["b2"].price is None and catalog["c3"].image is None and catalog["d4"].image is None
    assert "5 items loaded" in report.summary() and "1 bad_price" in report.summary()


def test_strict_mode_stops_at_the_first_bad_row(messy_csv):
    with pytest.raises(CatalogError, match="row 2: the id is empty"):
        load_catalog(messy_csv, strict=True)


def test_jsonl_and_parquet_load_the_same_items(messy_csv, tmp_path):
    frame = pd.read_csv(messy_csv, dtype=str, keep_default_na=False)
    jsonl = tmp_path / "catalog.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in frame.to_dict(orient="records")))
    parquet = tmp_path / "catalog.parquet"
    frame.to_parquet(parquet)
    csv_ids = load_catalog(messy_csv).ids
    assert load_catalog(jsonl).ids == csv_ids == load_catalog(parquet).ids == ["a1", "b2", "c3", "d4", "e5"]


def test_column_mapping_and_filters(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("sku,name,cost,category\nx,Tea,3,Drinks\ny,Coffee,9,Drinks\nz,Mug,12,Kitchen\n")
    catalog = load_catalog(path, columns={"sku": "id", "name": "title", "cost": "price"})
    assert catalog.ids == ["x", "y", "z"]
    assert catalog.filter(category="Drinks", max_price=5).ids == ["x"]


def test_unreadable_files_give_clear_errors(tmp_path):
    with pytest.raises(CatalogError, match="not found"):
        load_catalog(tmp_path / "nope.csv")
    (tmp_path / "c.xlsx").write_text("x")
    with pytest.raises(CatalogError, match="unsupported catalog format"):
        load_catalog(tmp_path / "c.xlsx")
    (tmp_path / "noid.csv").write_text("title\nTea\n")
    with pytest.raises(CatalogError, match="no 'id' column"):
        load_catalog(tmp_path / "noid.csv")


def test_grocery_catalog_from_the_real_dataset(grocery):
    assert len(grocery) == 81 and len(grocery.categories()) == 43
    apple = grocery["Granny-Smith"]
    assert "green apple" in apple.description and apple.category == "Apple" and apple.image.is_file()
    assert apple.attributes["group"] == "Fruit"
    assert grocery.report.issues == []


def test_fashion_catalog_reports_rows_without_photos(fashion):
    assert len(fashion) == 9583
    counts = fashion.report.counts()
    assert counts == {"no_image": 44446 - 9583}
    item = fashion["15970"]
    assert item.title == "Turtle Check Men Navy Blue Shirt" and item.attributes["baseColour"] == "Navy Blue"
    assert fashion.categories()["Tshirts"] == 1647


def test_a_sample_keeps_every_category_in_proportion_and_is_seeded(fashion):
    small = fashion.sample(1_500)
    assert len(small) == 1_500 and set(small.categories()) == set(fashion.categories())
    assert set(small.ids) <= set(fashion.ids) and small.name == fashion.name
    order = {item_id: row for row, item_id in enumerate(fashion.ids)}
    assert [order[i] for i in small.ids] == sorted(order[i] for i in small.ids)  # the catalog's own order
    share = lambda catalog, category: catalog.categories()[category] / len(catalog)  # noqa: E731
    assert share(small, "Tshirts") == pytest.approx(share(fashion, "Tshirts"), abs=0.01)
    assert small.ids == fashion.sample(1_500).ids and small.ids != fashion.sample(1_500, seed=1).ids
    assert len(fashion.sample(10)) == len(fashion.categories())  # one of each when the budget is smaller
    assert fashion.sample(len(fashion)) is fashion
    with pytest.raises(CatalogError, match="at least one item"):
        fashion.sample(0)


def test_open_catalog_slices_only_what_can_be_sliced():
    from kit.bundled_catalogs import CATALOG_TABLE, open_catalog

    for name, spec in CATALOG_TABLE.items():
        whole, small = open_catalog(name), open_catalog(name, max_items=50)
        if spec.can_sample:
            assert len(small) == max(50, len(whole.categories())) and set(small.categories()) == set(whole.categories())
        else:  # purchase sequences index its items by position: a slice would point them at other products
            assert spec.sequences is not None and small.ids == whole.ids
    for bad in (0, -3):  # 0 is not 'no slice': it is refused before anything loads, for every catalog
        with pytest.raises(CatalogError, match="at least one item"):
            open_catalog("amazon_scientific", max_items=bad)


def test_grocery_photo_splits():
    from kit.bundled_catalogs import grocery_photos

    assert [len(grocery_photos(s)) for s in ("train", "val", "test")] == [2640, 296, 2485]
    photo = grocery_photos("test")[0]
    assert photo.path.is_file() and photo.item_id == "Golden-Delicious" and photo.coarse_class == "Apple"
    with pytest.raises(ValueError, match="unknown split"):
        grocery_photos("dev")
