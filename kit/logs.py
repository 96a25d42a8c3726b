"""Quiet, useful logging for every entry point: the CLI, the app and the notebooks call :func:`configure_logging`."""

from __future__ import annotations

import logging
import sys

NOISY_LIBRARIES = ("transformers", "open_clip", "timm", "sentence_transformers", "httpx", "bm25s", "faster_whisper",
                   "diffusers", "urllib3", "PIL", "matplotlib")


def configure_logging(verbose: bool = False, log_file: str | None = None) -> None:
    """A quiet console: one line per phase from the kit, warnings from others only with ``verbose``.

    The libraries the kit builds on log pages of INFO and load reports ("UNEXPECTED keys" for the parts
    of a pretrained tower the kit does not use); those go to ``log_file`` (everything, DEBUG) when given.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "kit_console", False):  # ours from an earlier call; others' handlers stay
            root.removeHandler(handler)
    console = logging.StreamHandler(sys.stderr)
    console.kit_console = True
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s" if verbose else "%(message)s"))
    console.setLevel(logging.DEBUG if verbose else logging.INFO)
    console.addFilter(lambda record: verbose or record.name.startswith("kit") or record.levelno >= logging.ERROR)
    root.addHandler(console)
    root.setLevel(logging.DEBUG if verbose or log_file else logging.INFO)
    if log_file:
        to_file = logging.FileHandler(log_file)
        to_file.kit_console = True
        to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(to_file)
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.captureWarnings(True)  # library deprecation warnings become log records ('py.warnings'): file only
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_info() if verbose else hf_logging.set_verbosity_error()
    hf_logging.disable_default_handler()  # records reach the root handlers above instead
    hf_logging.enable_propagation()
    if not verbose:
        hf_logging.disable_progress_bar()  # 'Loading weights' bars for every tower load
