"""Spoken replies: the registry's hibari voice, or espeak-ng (a Debian package) as the plain voice and the
fallback when hibari is not installed (with a warning in the log, never silently)."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from pathlib import Path
from typing import Literal

import numpy as np

from kit.errors import BadInput, KitError, ModelNotAvailable
from kit.registry import REGISTRY, ModelRegistry

Voice = Literal["hibari", "espeak-ng"]
log = logging.getLogger(__name__)


def speak(text: str, voice: Voice = "hibari", out: str | Path | None = None,
          registry: ModelRegistry = REGISTRY) -> tuple[np.ndarray, int]:
    """Synthesize ``text``; returns (float32 samples, sample rate) and writes a WAV when ``out`` is given."""
    if not text or not text.strip():
        raise BadInput("nothing to say: the text is empty")
    if voice == "hibari":
        try:
            from hibari import Hibari

            resolved = registry.resolve("hibari")
        except (ImportError, ModelNotAvailable) as error:  # the documented fallback voice, said out loud
            log.warning("the hibari voice is not available (%s); speaking with espeak-ng", error)
            return speak(text, "espeak-ng", out, registry)
        audio, rate = np.asarray(Hibari(model=str(resolved.weights_path))(text), dtype=np.float32), 24_000
    elif voice == "espeak-ng":
        audio, rate = _espeak(text)
    else:
        raise KitError(f"unknown voice {voice!r}; voices: hibari, espeak-ng")
    if out is not None:
        import soundfile as sf

        sf.write(str(out), audio, rate)
    return audio, rate


def _espeak(text: str) -> tuple[np.ndarray, int]:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise ModelNotAvailable("espeak-ng is not installed; install it with `apt-get install espeak-ng`")
    wav = subprocess.run([binary, "--stdout", text], check=True, capture_output=True, timeout=60).stdout
    import soundfile as sf

    audio, rate = sf.read(io.BytesIO(wav), dtype="float32")
    return audio, int(rate)
