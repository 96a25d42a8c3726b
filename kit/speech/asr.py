"""Speech to text with faster-whisper; the registry's ``whisper-tiny.en`` is the offline default.

``load_audio`` accepts a file path, raw bytes, or a numpy array with its sample rate, and returns
16 kHz mono float32. Anything that is not audio raises :class:`BadInput`. A silent or empty clip
gives an empty transcript with ``is_silent=True`` instead of whisper's hallucinated filler.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np

from kit.errors import BadInput, KitError
from kit.registry import REGISTRY, ModelRegistry

SAMPLE_RATE = 16_000
SILENCE_RMS = 1e-3  # below this root-mean-square level a clip counts as silent
AudioInput = Union[str, Path, bytes, np.ndarray]


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    segments: list[Segment] = field(default_factory=list)
    duration: float = 0.0
    is_silent: bool = False


def _resample(audio: np.ndarray, rate: int) -> np.ndarray:
    if rate == SAMPLE_RATE:
        return audio
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate, SAMPLE_RATE)
    return resample_poly(audio, SAMPLE_RATE // g, rate // g).astype(np.float32)


def load_audio(audio: AudioInput, sample_rate: int | None = None) -> np.ndarray:
    """Decode and resample to 16 kHz mono float32 in [-1, 1]."""
    if isinstance(audio, np.ndarray):
        if sample_rate is None:
            raise BadInput("a numpy audio array needs its sample_rate")
        data = audio.astype(np.float32)
        if data.ndim == 2:  # (samples, channels) or (channels, samples): average the short axis
            data = data.mean(axis=1 if data.shape[1] < data.shape[0] else 0)
        if data.ndim != 1:
            raise BadInput(f"audio array must be 1-D or 2-D, got shape {audio.shape}")
        if np.issubdtype(audio.dtype, np.integer):
            data = data / float(np.iinfo(audio.dtype).max)
        return _resample(data, int(sample_rate))
    if isinstance(audio, (str, Path)):
        path = Path(audio)
        if not path.is_file():
            raise BadInput(f"audio file not found: {path}")
        raw = path.read_bytes()
    elif isinstance(audio, bytes):
        raw = audio
    else:
        raise BadInput(f"unsupported audio input of type {type(audio).__name__}")
    if not raw:
        raise BadInput("the audio is empty (0 bytes)")
    try:
        import soundfile as sf

        data, rate = sf.read(io.BytesIO(raw), dtype="float32", always_2d=True)
        return _resample(data.mean(axis=1), int(rate))
    except Exception:  # not a format libsndfile knows: try ffmpeg (PyAV) before giving up
        pass
    try:
        from faster_whisper.audio import decode_audio

        return decode_audio(io.BytesIO(raw), sampling_rate=SAMPLE_RATE).astype(np.float32)
    except Exception as exc:
        raise BadInput(f"not a readable audio file: {exc}") from exc


class WhisperTranscriber:
    """A faster-whisper model from the registry. ``transcribe`` returns a :class:`Transcript`."""

    def __init__(self, model: "object", name: str) -> None:
        self.model, self.name = model, name

    @classmethod
    def from_registry(cls, name: str = "whisper-tiny.en", device: str = "cpu", compute_type: str = "int8",
                      cpu_threads: int = 2, registry: ModelRegistry = REGISTRY) -> "WhisperTranscriber":
        from faster_whisper import WhisperModel

        spec = registry.get(name)
        if spec.kind != "speech":
            raise KitError(f"{name!r} is not a speech model; speech models: {registry.list_models('speech')}")
        if spec.source_type == "url":
            raise KitError(f"{name!r} is an openai-whisper checkpoint; faster-whisper needs a CTranslate2 model such as whisper-tiny.en")
        resolved = registry.resolve(name)
        return cls(WhisperModel(str(resolved.path), device=device, compute_type=compute_type, cpu_threads=cpu_threads), name)

    def transcribe(self, audio: AudioInput, sample_rate: int | None = None, beam_size: int = 1) -> Transcript:
        samples = load_audio(audio, sample_rate)
        duration = len(samples) / SAMPLE_RATE
        if len(samples) == 0 or float(np.sqrt(np.mean(samples**2))) < SILENCE_RMS:
            return Transcript("", "en", [], duration, is_silent=True)
        segments, info = self.model.transcribe(samples, beam_size=beam_size, vad_filter=True,
                                               condition_on_previous_text=False)
        parts = [Segment(round(s.start, 2), round(s.end, 2), s.text.strip()) for s in segments]
        text = " ".join(p.text for p in parts if p.text).strip()
        return Transcript(text, info.language, parts, duration, is_silent=not text)
