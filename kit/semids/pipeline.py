"""Build, train and evaluate the semantic-ID models of one sequence dataset, with everything saved under
``$KIT_HOME/models/semids/<dataset>/`` (IDs as a Parquet item table, checkpoints, model cards).

Each step reuses what an earlier run saved: ``evaluate`` trains what is missing, ``train`` resumes a
killed run from its last finished epoch. The CLI (``python -m kit semids``), the bench and
notebook 07 all call these functions.
"""

from __future__ import annotations

import hashlib
import json
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from kit.bundled_catalogs import CATALOG_TABLE
from kit.config import models_dir
from kit.datasets import datasets_of_kind
from kit.errors import BadInput, KitError
from kit.semids.chat_items import ChatItemsConfig, ItemChat
from kit.semids.item_tasks import TASKS, ItemFacts
from kit.semids.codes import SemanticIds
from kit.semids.embeddings import item_text_embeddings
from kit.semids.explain import Scorer, recommend_with_reasons
from kit.semids.ranking import (content_scorer, metrics_from_ranks, popularity_scorer, ranks_from_lists,
                                ranks_from_scores)
from kit.semids.residual_kmeans import ResidualKMeans
from kit.semids.rqvae import RQVAEConfig, train_rqvae
from kit.semids.sasrec import SASRec, SASRecConfig, training_sequences
from kit.semids.tiger import Tiger, TigerConfig
from kit.training import fit, read_checkpoint_state
from kit.sequences import NextItemExample, SequenceData

TOKENIZERS = ("rqvae", "kmeans")
TEXT_MODELS = ("minilm", "e5-small")


@dataclass
class SemidsConfig:
    """Everything a run depends on; saved next to its outputs so a changed setting is never mixed up."""

    dataset: str = field(default_factory=lambda: datasets_of_kind("sequences")[0])  # the first purchase-sequence dataset
    text_model: str = "e5-small"  # measured: see docs/benchmarks.md ## Semantic IDs
    tokenizer: str = "rqvae"
    rqvae: RQVAEConfig = field(default_factory=RQVAEConfig)
    sasrec: SASRecConfig = field(default_factory=SASRecConfig)
    tiger: TigerConfig = field(default_factory=TigerConfig)
    chat: ChatItemsConfig = field(default_factory=ChatItemsConfig)
    chat_model: str = "smollm2-135m-instruct"
    chat_eval_users: int = 100  # test users for the chat model (its beam search takes seconds per user on CPU)
    eval_users: int | None = None  # test examples scored by the generative models (None: all)


def sequence_datasets() -> list[str]:
    return [name for name, spec in CATALOG_TABLE.items() if spec.sequences is not None]


def load_sequences(dataset: str) -> SequenceData:
    spec = CATALOG_TABLE.get(dataset)
    if spec is None or spec.sequences is None:
        raise BadInput(f"{dataset!r} has no purchase sequences; datasets with sequences: {sequence_datasets()}")
    return spec.sequences()


def run_dir(config: SemidsConfig) -> Path:
    return models_dir() / "semids" / config.dataset


def settings_digest(settings: object) -> str:
    """A short hash of a dataclass of settings: runs with other settings are saved under other names."""
    return hashlib.sha256(json.dumps(asdict(settings), sort_keys=True).encode()).hexdigest()[:8]


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_ids(data: SequenceData, config: SemidsConfig, save: bool = True) -> tuple[SemanticIds, dict]:
    """Text vectors -> codes -> de-duplicated IDs; returns the IDs and their statistics."""
    if config.tokenizer not in TOKENIZERS:
        raise BadInput(f"unknown tokenizer {config.tokenizer!r}; choose one of {TOKENIZERS}")
    started = time.perf_counter()
    vectors = item_text_embeddings(data.texts, config.text_model)
    levels, size = config.rqvae.levels, config.rqvae.codebook_size
    if config.tokenizer == "rqvae":
        _, codes, mse, _ = train_rqvae(vectors, config.rqvae)
    else:
        codes, mse = ResidualKMeans(levels, size, seed=config.rqvae.seed).fit_codes(vectors)
    ids = SemanticIds.from_codes(codes, size, data.item_ids, data.texts, f"{config.tokenizer}/{config.text_model}")
    stats = {**ids.stats(mse).as_dict(), "seconds": round(time.perf_counter() - started, 1)}
    if save:
        path = ids_path(config)
        ids.save(path)
        path.with_name(path.stem + ".stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    return ids, stats


def ids_path(config: SemidsConfig) -> Path:
    r = config.rqvae
    return run_dir(config) / f"ids-{config.tokenizer}-{config.text_model}-L{r.levels}K{r.codebook_size}.parquet"


def load_or_build_ids(data: SequenceData, config: SemidsConfig) -> SemanticIds:
    path = ids_path(config)
    return SemanticIds.load(path) if path.exists() else build_ids(data, config)[0]


def _write_card(path: Path, title: str, config: object, result: dict, dataset: str,
                how: str = "`python -m kit semids train`; early stopping on valid Recall@10") -> None:
    lines = [f"# Model card: {title}", "", f"Trained by ShopKit ({how}) on the registry's",
             f"`{dataset}` train split. Not a released model.", "",
             "## Training settings", "", "```json", json.dumps(asdict(config), indent=2), "```", "",
             "## Result", "", "```json", json.dumps(result, indent=2), "```", ""]
    path.with_suffix(".md").write_text("\n".join(lines))


def train_sasrec(data: SequenceData, config: SemidsConfig, with_text: bool = False, progress: bool = True
                 ) -> tuple[SASRec, dict]:
    """SASRec with full cross-entropy (``with_text``: item embeddings plus their projected text vectors).

    Resumes from ``<name>-<settings hash>.ckpt`` after a kill; reuses the ``.pt`` trained with these settings.
    """
    cfg = config.sasrec
    name = f"sasrec-text-{config.text_model}" if with_text else "sasrec"
    final = run_dir(config) / f"{name}-{settings_digest(cfg)}.pt"
    torch.manual_seed(cfg.seed)
    text = item_text_embeddings(data.texts, config.text_model) if with_text else None
    model = SASRec(data.num_items, cfg, text)
    if final.exists():
        saved = torch.load(final, weights_only=False)
        if saved["config"] == asdict(cfg):
            model.load_state_dict(saved["weights"])
            return model.eval(), saved["result"]
    sequences = training_sequences(data, cfg.max_len)

    def batches(epoch: int) -> list[torch.Tensor]:
        order = torch.randperm(len(sequences), generator=torch.Generator().manual_seed(cfg.seed + epoch))
        return [sequences[order[i:i + cfg.batch_size]] for i in range(0, len(sequences), cfg.batch_size)]

    def validate() -> float:
        return metrics_from_ranks(ranks_from_scores(model.score, data.splits["valid"]))["recall@10"]

    result = fit(model, batches, epochs=cfg.epochs, validate=validate, patience=cfg.patience,
                 valid_name="valid_recall@10", checkpoint=final.with_suffix(".ckpt"), desc=name, progress=progress)
    summary = {"best_epoch": result.best_epoch, "valid_recall@10": round(result.best_valid, 4),
               "epochs_run": result.epochs_run, "minutes": round(result.seconds / 60, 2),
               "peak_memory_mb": round(peak_memory_mb())}
    torch.save({"weights": model.state_dict(), "config": asdict(cfg), "result": summary}, final)
    _write_card(final, f"{name} (full cross-entropy)", cfg, summary, config.dataset)
    return model, summary


def _valid_slice(examples: list[NextItemExample], n: int | None, seed: int) -> list[NextItemExample]:
    if n is None or n >= len(examples):
        return list(examples)
    picks = np.random.default_rng(seed).choice(len(examples), n, replace=False)
    return [examples[i] for i in sorted(picks)]


def generative_ranks(model: Tiger, examples: list[NextItemExample], k: int = 50, batch_size: int = 64,
                     constrained: bool = True) -> tuple[np.ndarray, float]:
    """Ranks of the targets in the model's top-``k`` beams, and the share of invalid generated IDs."""
    lists, invalid = [], []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start:start + batch_size]
        ranked, share = model.recommend([e.history for e in chunk], k, constrained)
        lists += ranked
        invalid.append(share * len(chunk))
    return ranks_from_lists(lists, examples), float(sum(invalid) / max(len(examples), 1))


def train_tiger(data: SequenceData, ids: SemanticIds, config: SemidsConfig, progress: bool = True
                ) -> tuple[Tiger, dict]:
    cfg = config.tiger
    final = run_dir(config) / f"tiger-{ids_path(config).stem}-{ids.digest()}-{settings_digest(cfg)}.pt"
    torch.manual_seed(cfg.seed)
    model = Tiger(ids, cfg)
    if final.exists():
        saved = torch.load(final, weights_only=False)
        if saved["config"] == asdict(cfg):
            model.load_state_dict(saved["weights"])
            return model.eval(), saved["result"]
    train = data.splits["train"]
    valid = _valid_slice(data.splits["valid"], cfg.valid_users, cfg.seed)

    lengths = np.array([min(len(e.history), cfg.max_items) for e in train])

    def batches(epoch: int) -> list[tuple[list, list]]:
        """Shuffled batches of similar history length (padding to the longest would triple the work)."""
        rng = np.random.default_rng(cfg.seed + epoch)
        order = np.lexsort((rng.random(len(train)), lengths))
        chunks = [order[s:s + cfg.batch_size] for s in range(0, len(train), cfg.batch_size)]
        return [([train[i].history for i in chunks[c]], [train[i].target for i in chunks[c]])
                for c in rng.permutation(len(chunks))]

    def validate() -> float:
        return metrics_from_ranks(generative_ranks(model, valid, k=10)[0])["recall@10"]

    result = fit(model, batches, epochs=cfg.epochs, validate=validate, patience=cfg.patience,
                 valid_name="valid_recall@10", checkpoint=final.with_suffix(".ckpt"), desc="TIGER", progress=progress)
    summary = {"best_epoch": result.best_epoch, "valid_recall@10": round(result.best_valid, 4),
               "valid_users": len(valid), "epochs_run": result.epochs_run, "minutes": round(result.seconds / 60, 2),
               "peak_memory_mb": round(peak_memory_mb()), "ids": ids.tokenizer}
    torch.save({"weights": model.state_dict(), "config": asdict(cfg), "result": summary}, final)
    _write_card(final, f"tiger over {ids.tokenizer} semantic IDs", cfg, summary, config.dataset)
    return model, summary



class TuneRunError(KitError):
    """A tuning run that exists and was not asked to resume, or a resume with nothing to resume."""


def item_facts(dataset: str) -> ItemFacts:
    """The catalog's brand and category per sequence item (the steered task's constraints): a dataset with
    sequences is a catalog whose item i is the sequences' item i."""
    from kit.bundled_catalogs import open_catalog

    return ItemFacts.from_catalog(open_catalog(dataset))


def chat_paths(data: SequenceData, ids: SemanticIds, config: SemidsConfig) -> tuple[Path, Path]:
    """(the adapter with its card beside it, the checkpoint a run resumes from), named by everything they depend on."""
    final = run_dir(config) / f"chat-{config.chat_model}-{ids_path(config).stem}-{ids.digest()}-{settings_digest(config.chat)}.pt"
    return final, final.with_suffix(".ckpt")


TUNE_EPOCHS = 10_000  # `kit llm tune`: the clock (--minutes) ends the run, not an epoch count


def train_chat(data: SequenceData, ids: SemanticIds, config: SemidsConfig, progress: bool = True,
               minutes: float | None = None, resume: bool = False) -> tuple[ItemChat, dict]:
    """LoRA + new item tokens on the registry's chat model, on the task mixture; saves only the trained parameters.

    Without ``minutes`` an adapter already trained with these settings is loaded, else one is trained for
    ``config.chat.epochs`` epochs. With ``minutes`` (``python -m kit llm tune``) see :func:`fit_item_chat`.
    """
    from kit.llm.local import LocalChatModel

    check_minutes(minutes)
    final, _ = chat_paths(data, ids, config)
    base = LocalChatModel.from_registry(config.chat_model, dtype="float32")  # LoRA trains in float32
    torch.manual_seed(config.chat.seed)
    model = ItemChat(base.model, base.tokenizer, ids, config.chat, item_facts(config.dataset), base_name=config.chat_model)
    if minutes is None and final.exists():
        saved = load_adapter(model, final)
        if saved["config"] == asdict(config.chat):
            return model.eval(), saved["result"]
    return model, fit_item_chat(model, data, final, progress, minutes, resume, config.dataset)


def tuned_config(config: SemidsConfig, steps_per_epoch: int = 50) -> SemidsConfig:
    """The settings of a `kit llm tune` run: the clock ends it (no epoch count, no early stop)."""
    from dataclasses import replace

    tuned = replace(config)
    tuned.chat = replace(config.chat, epochs=TUNE_EPOCHS, patience=None, steps_per_epoch=steps_per_epoch)
    return tuned


def load_tuned_chat(data: SequenceData, config: SemidsConfig) -> tuple[ItemChat, dict] | None:
    """The longest-trained `kit llm tune` adapter for this base model and these IDs, loaded; None when none."""
    from kit.llm.local import LocalChatModel

    if not ids_path(config).exists():  # an adapter is trained on saved IDs: none without them (and nothing built)
        return None
    ids = SemanticIds.load(ids_path(config))
    runs = []
    for path in run_dir(config).glob(f"chat-{config.chat_model}-{ids_path(config).stem}-{ids.digest()}-*.pt"):
        saved = torch.load(path, weights_only=False, map_location="cpu")
        if saved["config"].get("epochs") == TUNE_EPOCHS:
            runs.append((saved["result"]["minutes"], path, saved))
    if not runs:
        return None
    _, path, saved = max(runs, key=lambda run: run[0])
    base = LocalChatModel.from_registry(config.chat_model, dtype="float32")
    settings = ChatItemsConfig(**{**saved["config"], "target_modules": tuple(saved["config"]["target_modules"])})
    model = ItemChat(base.model, base.tokenizer, ids, settings, item_facts(config.dataset), base_name=config.chat_model)
    load_adapter(model, path)
    return model.eval(), {**saved["result"], "adapter": str(path)}


def check_minutes(minutes: float | None) -> None:
    if minutes is not None and not minutes > 0:
        raise BadInput(f"--minutes must be positive, got {minutes}")


def load_adapter(model: ItemChat, path: Path) -> dict:
    """Load a saved adapter into ``model`` after checking that it was trained for the same base model and IDs
    (:class:`~kit.semids.chat_items.AdapterMismatch` otherwise); returns what was saved with it."""
    saved = torch.load(path, weights_only=False)
    model.check_fingerprint(saved.get("fingerprint", {}), Path(path).name)
    model.load_state_dict(saved["weights"])
    return saved


def fit_item_chat(model: ItemChat, data: SequenceData, final: Path, progress: bool = True,
                  minutes: float | None = None, resume: bool = False, dataset: str = "") -> dict:
    """Train ``model`` on its task mixture and save the adapter at ``final`` (a model card beside it); returns the
    summary with the loss and valid Recall@10 against training minutes (``curve``).

    The checkpoint beside ``final`` (``.ckpt``) is written every epoch. With ``minutes`` the run stops at the
    first epoch end past that many minutes of training; ``resume`` continues an earlier run for ``minutes``
    more, exactly where it stopped (weights, optimizer, RNG and data order); an existing run without ``resume``
    is an error rather than silently continued or overwritten.
    """
    cfg, checkpoint = model.config, final.with_suffix(".ckpt")
    check_minutes(minutes)
    budget = None
    if minutes is not None:
        before = read_checkpoint_state(checkpoint)
        if before is not None and not resume:
            raise TuneRunError(f"a run with these settings already trained {before['seconds'] / 60:.1f} min "
                               f"({checkpoint}); add --resume to train it {minutes:g} min more, or delete it to start over")
        if before is None and resume:
            raise TuneRunError(f"nothing to resume: no checkpoint {checkpoint.name} in {checkpoint.parent}")
        budget = (before["seconds"] if before else 0.0) + 60 * minutes
    valid = _valid_slice(data.splits["valid"], cfg.valid_users, cfg.seed)

    def batches(epoch: int) -> list[list[tuple[str, str]]]:
        rng = np.random.default_rng(cfg.seed + epoch)
        return [model.examples(data, "train", rng, cfg.batch_size) for _ in range(cfg.steps_per_epoch)]

    def validate() -> float:
        lists, _ = model.recommend([e.history for e in valid], k=10)
        return metrics_from_ranks(ranks_from_lists(lists, valid))["recall@10"]

    result = fit(model, batches, epochs=cfg.epochs, validate=validate, patience=cfg.patience,
                 max_grad_norm=cfg.max_grad_norm, valid_name="valid_recall@10", checkpoint=checkpoint,
                 desc="chat model", progress=progress,
                 max_seconds=budget, meta={"fingerprint": model.fingerprint()})
    curve = [{"minutes": round(seconds / 60, 2), **entry} for seconds, entry in
             zip(result.epoch_seconds, [h for h in result.history if h["epoch"] >= 0])]
    summary = {"best_epoch": result.best_epoch, "valid_recall@10": round(result.best_valid, 4),
               "valid_users": len(valid), "epochs_run": result.epochs_run, "minutes": round(result.seconds / 60, 2),
               "peak_memory_mb": round(peak_memory_mb()), **model.fingerprint(), "ids_tokenizer": model.ids.tokenizer,
               "tasks": {name: f"{weight:g}: {TASKS[name].what}" for name, weight in cfg.tasks.items()},
               "curve": curve}
    final.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"weights": model.state_dict(), "config": asdict(cfg), "result": summary,
                "fingerprint": model.fingerprint()}, final)
    how = (f"`python -m kit llm tune --minutes {minutes:g}`, resumable; the best valid Recall@10 kept"
           if minutes is not None else "`python -m kit semids train`; early stopping on valid Recall@10")
    _write_card(final, f"{model.base_name} + LoRA speaking {model.ids.tokenizer} semantic IDs", cfg, summary, dataset,
                how + ". Tasks and the loss/valid curve against training minutes are in the result below")
    return summary


def _training(summary: dict) -> dict:
    return {"training_minutes": summary["minutes"], "peak_memory_mb": summary["peak_memory_mb"]}


def _popularity(data: SequenceData, config: SemidsConfig, progress: bool) -> dict:
    return metrics_from_ranks(ranks_from_scores(popularity_scorer(data), data.splits["test"]))


def _content(data: SequenceData, config: SemidsConfig, progress: bool) -> dict:
    vectors = item_text_embeddings(data.texts, config.text_model)
    return metrics_from_ranks(ranks_from_scores(content_scorer(vectors, last=1), data.splits["test"]))


def _sasrec(with_text: bool):
    def run(data: SequenceData, config: SemidsConfig, progress: bool) -> dict:
        model, trained = train_sasrec(data, config, with_text=with_text, progress=progress)
        return {**metrics_from_ranks(ranks_from_scores(model.score, data.splits["test"])), **_training(trained)}
    return run


def _tiger(data: SequenceData, config: SemidsConfig, progress: bool) -> dict:
    ids = load_or_build_ids(data, config)
    model, trained = train_tiger(data, ids, config, progress=progress)
    subset = _valid_slice(data.splits["test"], config.eval_users, config.tiger.seed)
    result = {**metrics_from_ranks(generative_ranks(model, subset, k=50)[0]), **_training(trained)}
    result["invalid_id_share_unconstrained"] = generative_ranks(model, subset[:200], k=10, constrained=False)[1]
    return result


def _chat(data: SequenceData, config: SemidsConfig, progress: bool) -> dict:
    """The `kit llm tune` adapter when one is trained for these IDs, else the short default run."""
    ids = load_or_build_ids(data, config)
    model, trained = load_tuned_chat(data, config) or train_chat(data, ids, config, progress=progress)
    subset = _valid_slice(data.splits["test"], config.chat_eval_users, config.chat.seed)
    lists, invalid = model.recommend([e.history for e in subset], k=10)
    result = {**metrics_from_ranks(ranks_from_lists(lists, subset)), **_training(trained)}
    result["invalid_id_share"] = invalid
    result["invalid_id_share_unconstrained"] = model.recommend([e.history for e in subset[:50]], k=10,
                                                               constrained=False)[1]
    return result


# name -> (what it is, how it is scored on the test split); the CLI, the bench and the notebook read this table
MODEL_TABLE: dict[str, tuple[str, object]] = {
    "popularity": ("the train split's most frequent items for everyone", _popularity),
    "content": ("nearest items to the last purchase by text embedding (no training)", _content),
    "sasrec": ("SASRec, item IDs only, full cross-entropy", _sasrec(False)),
    "sasrec-text": ("SASRec whose item embeddings add their projected text vectors", _sasrec(True)),
    "tiger": ("T5 encoder-decoder generating the next semantic ID, beams constrained to real IDs", _tiger),
    "llm": ("SmolLM2-135M with one token per code, LoRA-tuned on the four item tasks, constrained beams", _chat),
}


# name -> how to train it (returns the training summary); models without an entry need no training
TRAINERS = {
    "sasrec": lambda data, config, progress: train_sasrec(data, config, False, progress)[1],
    "sasrec-text": lambda data, config, progress: train_sasrec(data, config, True, progress)[1],
    "tiger": lambda data, config, progress: train_tiger(data, load_or_build_ids(data, config), config, progress)[1],
    "llm": lambda data, config, progress: train_chat(data, load_or_build_ids(data, config), config, progress)[1],
}


# name -> how to load (training what is missing) a full scorer ``histories -> (batch, n_items)``; the explained
# recommendations of ``python -m kit semids recommend`` read this table. The LoRA chat model has no full scorer
# (its beams are the only ranking it gives) and is left out.
SCORERS: dict[str, Callable[[SequenceData, SemidsConfig], Scorer]] = {
    "popularity": lambda data, config: popularity_scorer(data),
    "content": lambda data, config: content_scorer(item_text_embeddings(data.texts, config.text_model), last=1),
    "sasrec": lambda data, config: train_sasrec(data, config, False, False)[0].score,
    "sasrec-text": lambda data, config: train_sasrec(data, config, True, False)[0].score,
    "tiger": lambda data, config: train_tiger(data, load_or_build_ids(data, config), config, False)[0].score,
}


def recommend(data: SequenceData, config: SemidsConfig, user: int, models: tuple[str, ...] = ("sasrec",),
              k: int = 5) -> dict:
    """Each model's top ``k`` next items for a test user, every one explained from the history it used
    (:mod:`kit.semids.explain`), next to the user's real held-out next item."""
    unknown = [m for m in models if m not in SCORERS]
    if unknown:
        raise BadInput(f"unknown model(s) {unknown}; models with a scorer: {', '.join(SCORERS)}")
    if not 1 <= k <= 50:
        raise BadInput(f"--k must be between 1 and 50, got {k}")
    examples = {e.user: e for e in data.splits["test"]}
    if user not in examples:
        raise BadInput(f"no test user {user}; users are {min(examples)}..{max(examples)}")
    example = examples[user]
    out = {"user": user, "history": [data.texts[i] for i in example.history],
           "held_out_next_item": data.texts[example.target], "recommendations": {}}
    for name in models:
        explained = recommend_with_reasons(SCORERS[name](data, config), example.history, data.texts, name, k)
        out["recommendations"][name] = [{**e.to_dict(), "is_held_out_item": e.item == example.target}
                                        for e in explained]
    return out


def evaluate(data: SequenceData, config: SemidsConfig, models: tuple[str, ...] = tuple(MODEL_TABLE),
             progress: bool = True) -> dict[str, dict]:
    """Test metrics keyed by model name, training (or resuming) whatever has no saved checkpoint yet.

    Generative models are scored on ``config.eval_users`` test examples (all when None); each entry
    says its ``n``. ``tiger`` also reports the invalid-ID share of unconstrained beams.
    """
    unknown = [m for m in models if m not in MODEL_TABLE]
    if unknown:
        raise BadInput(f"unknown model(s) {unknown}; models: {', '.join(MODEL_TABLE)}")
    out: dict[str, dict] = {}
    for name in models:
        started = time.perf_counter()
        result = MODEL_TABLE[name][1](data, config, progress)
        out[name] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items()}
        out[name]["eval_seconds"] = round(time.perf_counter() - started, 1)
    return out
