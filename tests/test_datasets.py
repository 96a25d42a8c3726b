import pytest

from kit.datasets import get_dataset_spec, list_datasets, resolve_dataset, verify_dataset
from kit.errors import DatasetNotAvailable, UnknownDataset


def test_every_shared_dataset_resolves_and_verifies():
    assert list_datasets() == ["amazon_scientific", "fashion_products", "grocery_store", "youshu"]
    for name in list_datasets():
        resolved = resolve_dataset(name)
        assert resolved.origin in ("shared", "KIT_DATA")
        assert verify_dataset(resolved.path, resolved.spec) == []


def test_kit_data_wins_over_the_mirror(tmp_path, monkeypatch):
    source = resolve_dataset("youshu").path
    copy = tmp_path / "youshu"
    copy.mkdir()
    for rel in get_dataset_spec("youshu").key_files:
        (copy / rel).symlink_to(source / rel)
    monkeypatch.setenv("KIT_DATA", str(tmp_path))
    assert resolve_dataset("youshu").path == copy and resolve_dataset("youshu").origin == "KIT_DATA"


def test_an_incomplete_copy_is_not_used(tmp_path, monkeypatch):
    (tmp_path / "youshu").mkdir()
    (tmp_path / "youshu" / "user_item.txt").write_text("0\t1\n")
    monkeypatch.setenv("KIT_DATA", str(tmp_path))
    assert resolve_dataset("youshu").origin != "KIT_DATA"


def test_a_tampered_file_fails_verification(tmp_path):
    spec = get_dataset_spec("youshu")
    source = resolve_dataset("youshu").path
    for rel in spec.key_files:
        (tmp_path / rel).write_bytes((source / rel).read_bytes())
    (tmp_path / "user_item.txt").write_text("0\t1\n")
    assert verify_dataset(tmp_path, spec) == ["user_item.txt: sha256 differs from the registered one"]


def test_missing_dataset_offline_names_where_it_looked(tmp_path, monkeypatch):
    import kit.datasets

    monkeypatch.setattr(kit.datasets, "shared_data_dirs", lambda: [tmp_path / "no-mirror"])  # a machine without the mirror
    monkeypatch.setenv("KIT_HOME", str(tmp_path / "home"))
    with pytest.raises(DatasetNotAvailable) as info:
        resolve_dataset("grocery_store")
    assert "no-mirror" in str(info.value) and "KIT_OFFLINE" in str(info.value)


def test_unknown_dataset():
    with pytest.raises(UnknownDataset, match="Valid names: amazon_scientific"):
        resolve_dataset("imagenet")


def test_download_extracts_verifies_and_keeps_nothing_bad(tmp_path, monkeypatch):
    """The public-source path, end to end, with a local archive standing in for GitHub (file:// URL)."""
    import dataclasses
    import tarfile

    import kit.datasets
    from kit.errors import ChecksumMismatch

    source = resolve_dataset("youshu").path
    archive = tmp_path / "CrossCBR.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for rel in get_dataset_spec("youshu").key_files:
            tar.add(source / rel, arcname=f"CrossCBR-4971749/datasets/Youshu/{rel}")
        tar.add(source / "SHA256SUMS", arcname="CrossCBR-4971749/README-elsewhere/SHA256SUMS")  # not wanted
    spec = get_dataset_spec("youshu")
    local = dataclasses.replace(spec, downloads=[{**spec.downloads[0], "url": archive.as_uri()}])
    monkeypatch.setattr(kit.datasets, "get_dataset_spec", lambda name: local)
    monkeypatch.setenv("KIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KIT_OFFLINE")
    folder = kit.datasets.download_dataset("youshu")
    assert sorted(p.name for p in folder.iterdir()) == sorted(spec.key_files)  # "datasets/Youshu/" stripped
    assert verify_dataset(folder, spec) == []

    broken = dataclasses.replace(local, key_files={**spec.key_files, "user_item.txt": "0" * 64})
    monkeypatch.setattr(kit.datasets, "get_dataset_spec", lambda name: broken)
    with pytest.raises(ChecksumMismatch, match="user_item.txt"):
        kit.datasets.download_dataset("youshu")
    assert verify_dataset(folder, spec) == []  # the good copy from before is still there
    assert [p.name for p in folder.parent.iterdir()] == ["youshu"]  # no staging folder left behind
