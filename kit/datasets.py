"""Datasets by name, resolved the same way as models (see kit/registry.py).

Order: ``$KIT_DATA/<name>``, then the workplace mirror ``../shared/data/<name>``, then the kit's cache
``$KIT_HOME/data/<name>``, then (only when ``KIT_OFFLINE`` is not set) the public source, downloaded
into the cache and checked against the sha256 of its key files. Each dataset has a card in data_cards/.

Like PyG's datasets, a folder is accepted only when its raw files are all there, so a half-copied
folder is never mistaken for the dataset.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from kit.config import PACKAGE_DIR, data_cache_dir, is_offline, shared_data_dirs, user_data_dir
from kit.errors import ChecksumMismatch, DatasetNotAvailable, UnknownDataset
from kit.registry import sha256_of

log = logging.getLogger(__name__)
CONFIG_DIR = PACKAGE_DIR / "dataset_configs"


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    license: str
    kind: str
    card: str
    homepage: str
    citation: str
    size: str
    downloads: list[dict[str, Any]] = field(default_factory=list)
    key_files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256

    @classmethod
    def from_json(cls, path: Path) -> "DatasetSpec":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def is_complete(self, folder: Path) -> bool:
        return folder.is_dir() and all((folder / rel).is_file() for rel in self.key_files)


@dataclass(frozen=True)
class ResolvedDataset:
    spec: DatasetSpec
    path: Path
    origin: str  # KIT_DATA | shared | cache | download


def _load_specs() -> dict[str, DatasetSpec]:
    return {spec.name: spec for spec in (DatasetSpec.from_json(p) for p in sorted(CONFIG_DIR.glob("*.json")))}


def list_datasets() -> list[str]:
    return sorted(_load_specs())


def datasets_of_kind(kind: str) -> list[str]:
    """The datasets of one kind (catalog, sequences, interactions), sorted: a command's default is the first."""
    names = [name for name, spec in sorted(_load_specs().items()) if spec.kind == kind]
    if not names:
        kinds = sorted({spec.kind for spec in _load_specs().values()})
        raise UnknownDataset(f"no dataset of kind {kind!r}; kinds: {', '.join(kinds)}")
    return names


def get_dataset_spec(name: str) -> DatasetSpec:
    specs = _load_specs()
    if name not in specs:
        raise UnknownDataset(f"unknown dataset {name!r}. Valid names: {', '.join(sorted(specs))}.")
    return specs[name]


def _candidates(name: str) -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    if (user := user_data_dir()) is not None:
        found.append((user / name, "KIT_DATA"))
    found += [(shared / name, "shared") for shared in shared_data_dirs()]
    found.append((data_cache_dir() / name, "cache"))
    return found


def resolve_dataset(name: str, download: bool = True) -> ResolvedDataset:
    """The folder that holds dataset ``name`` (see the module docstring for the order)."""
    spec = get_dataset_spec(name)
    looked = []
    for folder, origin in _candidates(name):
        if spec.is_complete(folder):
            return ResolvedDataset(spec, folder, origin)
        looked.append(f"{folder} ({'incomplete' if folder.exists() else 'missing'})")
    if download and not is_offline():
        return ResolvedDataset(spec, download_dataset(name), "download")
    raise DatasetNotAvailable(
        f"dataset {name!r} was not found. Looked in: {'; '.join(looked)}; download skipped "
        f"(KIT_OFFLINE is set). Point KIT_DATA at a copy, or download it once on a networked machine with "
        f"`KIT_OFFLINE=0 python -m kit data --fetch {name}`."
    )


def verify_dataset(folder: Path, spec: DatasetSpec, full: bool = False) -> list[str]:
    """Problems found (empty when fine): key files against the spec, all files against SHA256SUMS if ``full``."""
    problems = []
    for rel, expected in spec.key_files.items():
        file = folder / rel
        if not file.is_file():
            problems.append(f"{rel}: missing")
        elif sha256_of(file) != expected:
            problems.append(f"{rel}: sha256 differs from the registered one")
    manifest = folder / "SHA256SUMS"
    if full and manifest.is_file():
        lines = manifest.read_text(encoding="utf-8").splitlines()
        for line in tqdm(lines, desc=f"verifying {spec.name}", unit="file", leave=False):
            expected, rel = line.split(maxsplit=1)
            file = folder / rel.lstrip("*")
            if not file.is_file():
                problems.append(f"{rel}: missing")
            elif sha256_of(file) != expected:
                problems.append(f"{rel}: sha256 differs from SHA256SUMS")
    return problems


def download_dataset(name: str) -> Path:
    """Fetch a dataset from its public source into the cache; nothing is kept unless it verifies."""
    spec = get_dataset_spec(name)
    if is_offline():
        raise DatasetNotAvailable(f"cannot download {name!r}: KIT_OFFLINE is set (the Makefile sets it); on a "
                                  f"networked machine run `KIT_OFFLINE=0 python -m kit data --fetch {name}`.")
    target = data_cache_dir() / name
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{name}-"))
    try:
        for source in spec.downloads:
            try:
                _fetch_archive(source["url"], source["members"], staging / source.get("into", ""), source.get("strip", ""))
            except Exception as error:  # noqa: BLE001 (urllib, sockets, a blocked network and tarfile raise many kinds)
                raise DatasetNotAvailable(f"could not download {name!r} from {source['url']} ({type(error).__name__}: "
                                          f"{error}); is the network reachable? Nothing was kept.") from error
        problems = verify_dataset(staging, spec)
        if problems:
            raise ChecksumMismatch(f"download of {name!r} failed verification: {'; '.join(problems)}")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _fetch_archive(url: str, members: list[str], into: Path, strip: str = "") -> None:
    """Download a .tar.gz and extract the wanted members (GitHub's top folder is dropped first).

    A member ending in ``/`` is a folder: every file under it is kept, with ``strip`` removed from the
    front of its path. Any other member is a file name, found anywhere in the archive and kept by name.
    """
    into.mkdir(parents=True, exist_ok=True)
    folders = [m for m in members if m.endswith("/")]
    names = {m for m in members if not m.endswith("/")}
    with tempfile.TemporaryFile() as tmp:
        with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 (registered URLs)
            shutil.copyfileobj(response, tmp)
        tmp.seek(0)
        with tarfile.open(fileobj=tmp, mode="r:gz") as archive:
            for member in archive.getmembers():
                rel = member.name.partition("/")[2]  # without the archive's top folder
                if not member.isfile() or ".." in Path(rel).parts:
                    continue
                if any(rel.startswith(folder) for folder in folders):
                    keep = rel[len(strip):] if strip and rel.startswith(strip) else rel
                elif Path(rel).name in names:
                    keep = Path(rel).name
                else:
                    continue
                destination = into / keep
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.extractfile(member) as src, open(destination, "wb") as dst:
                    shutil.copyfileobj(src, dst)
