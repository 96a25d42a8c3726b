import json
import subprocess
import sys

from kit.cli import main


def test_models_json_lists_status_and_license(capsys):
    assert main(["models", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["minilm"]["available"] and rows["minilm"]["license"] == "MIT"
    assert rows["whisper-base"]["status"] == "not available"
    assert rows["whisper-base"]["get it with"] == "python -m kit fetch whisper-base"


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


def test_python_dash_m_kit_runs_as_a_program():
    result = subprocess.run([sys.executable, "-m", "kit", "models", "--kind", "text"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "e5-small" in result.stdout and "minilm" in result.stdout


def test_demo_searches_the_bundled_catalogs(lit_encoder, capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "grocery_store: 81 items" in out and "fashion_products: 9583 items" in out
    green_apple = next(line for line in out.splitlines() if "'green apple'" in line)
    assert "Granny-Smith" in green_apple
    assert "smollm2-135m-instruct" in out  # the model table follows
