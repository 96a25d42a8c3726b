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
          registry: ModelRegistry = REGISTRY, words_per_minute: int | None = None,
          espeak_voice: str | None = None, seed: int | None = 0) -> tuple[np.ndarray, int]:
    """Synthesize ``text``; returns (float32 samples, sample rate) and writes a WAV when ``out`` is given.

    ``words_per_minute`` and ``espeak_voice`` (e.g. ``"en-us+f3"``) shape the espeak-ng voice only; ``seed``
    fixes the hibari voice's noise (None: fresh noise each time).
    Text without a letter or digit (empty, emoji only, punctuation) is refused rather than spoken as
    silence; ``out`` must be in an existing folder; the text is never read as a program option."""
    if not isinstance(text, str) or not any(c.isalnum() for c in text):
        raise BadInput(f"nothing to say: {str(text)[:40]!r} has no words (letters or digits)")
    if out is not None and not Path(out).parent.is_dir():
        raise BadInput(f"cannot write {out}: the folder {Path(out).parent} does not exist")
    if voice == "hibari":
        try:
            from hibari import Hibari

            resolved = registry.resolve("hibari")
        except (ImportError, ModelNotAvailable) as error:  # the documented fallback voice, said out loud
            log.warning("the hibari voice is not available (%s); speaking with espeak-ng", error)
            return speak(text, "espeak-ng", out, registry, words_per_minute, espeak_voice)
        # the voice adds shaped noise; a fixed seed makes the same text the same audio (tests, benchmarks)
        audio, rate = np.asarray(Hibari(model=str(resolved.weights_path))(text, seed=seed), dtype=np.float32), 24_000
    elif voice == "espeak-ng":
        audio, rate = _espeak(text, words_per_minute, espeak_voice)
    else:
        raise KitError(f"unknown voice {voice!r}; voices: hibari, espeak-ng")
    if len(audio) < rate // 20:
        raise BadInput(f"the {voice} voice produced no sound for {text[:40]!r}")
    if out is not None:
        import soundfile as sf

        sf.write(str(out), audio, rate)
    return audio, rate


def _espeak(text: str, words_per_minute: int | None = None, espeak_voice: str | None = None) -> tuple[np.ndarray, int]:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise ModelNotAvailable("espeak-ng is not installed; install it with `apt-get install espeak-ng`")
    options = [f"-s{int(words_per_minute)}"] if words_per_minute else []
    if espeak_voice:
        if not all(c.isalnum() or c in "-+_" for c in espeak_voice):
            raise BadInput(f"not an espeak-ng voice name: {espeak_voice!r}")
        options.append(f"-v{espeak_voice}")
    wav = subprocess.run([binary, *options, "--stdout", "--stdin"], input=text.encode("utf-8"), check=True,  # stdin: never an option
                         capture_output=True, timeout=60).stdout
    import soundfile as sf

    audio, rate = sf.read(io.BytesIO(wav), dtype="float32")
    return audio, int(rate)
