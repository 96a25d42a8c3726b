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

from kit.errors import BadInput, KitError, ModelNotAvailable
from kit.registry import REGISTRY, ModelRegistry
from kit.speech.vocabulary import CatalogVocabulary

SAMPLE_RATE = 16_000
SILENCE_RMS = 1e-3  # below this root-mean-square level a clip (or a 30 ms frame) counts as silent
LEAD_IN_SECONDS = 0.5  # silence put back around trimmed speech: whisper drops a first word that starts at once
MAX_SECONDS = 30 * 60  # longer recordings are refused: split them first
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
    heard: str = ""  # what whisper wrote before snapping to catalog terms (equal to text without a bias)
    corrections: list[tuple[str, str]] = field(default_factory=list)  # (heard, catalog term) replacements


@dataclass(frozen=True)
class CatalogBias:
    """How a transcription leans on the catalog: whisper's ``initial_prompt`` and ``hotwords`` built from
    ``vocabulary`` (0 words turns either off), terms the ``context`` mentions first, and snapping of near
    misses afterwards. The defaults are the measured best (docs/benchmarks.md ## Speech)."""

    vocabulary: CatalogVocabulary
    prompt_words: int = 60
    hotword_words: int = 0
    snap: bool = True
    context: str = ""

    def decoder_options(self) -> dict[str, str | None]:
        """faster-whisper's ``initial_prompt`` and ``hotwords`` (None where switched off)."""
        prompt = self.vocabulary.prompt(self.prompt_words, self.context) if self.prompt_words else ""
        hotwords = self.vocabulary.hotwords(self.hotword_words, self.context) if self.hotword_words else ""
        return {"initial_prompt": prompt or None, "hotwords": hotwords or None}


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
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or not 1000 <= sample_rate <= 384_000:
            raise BadInput(f"sample_rate must be a whole number of Hz from 1000 to 384000, got {sample_rate!r}")
        if not (np.issubdtype(audio.dtype, np.integer) or np.issubdtype(audio.dtype, np.floating)):
            raise BadInput(f"an audio array must hold integers or floats, not {audio.dtype}")
        if audio.ndim not in (1, 2) or audio.size == 0:
            raise BadInput(f"audio array must be 1-D or 2-D and not empty, got shape {audio.shape}")
        data = audio.astype(np.float32)
        if data.ndim == 2:  # (samples, channels) or (channels, samples): average the short axis
            data = data.mean(axis=1 if data.shape[1] < data.shape[0] else 0)
        if not np.isfinite(data).all():
            raise BadInput("the audio array holds NaN or infinite values")
        if np.issubdtype(audio.dtype, np.integer):
            data = data / float(np.iinfo(audio.dtype).max)
        elif np.abs(data).max() > 1.0:  # floats on an integer scale: bring the peak to 1
            data = data / np.abs(data).max()
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
    import soundfile as sf

    try:
        data, rate = sf.read(io.BytesIO(raw), dtype="float32", always_2d=True)
        if data.size == 0:
            raise BadInput("the audio file holds no samples")
        return _resample(data.mean(axis=1), int(rate))
    except (sf.SoundFileError, RuntimeError, ValueError) as first:  # not a format libsndfile knows: try ffmpeg
        libsndfile_says = str(first)
    from faster_whisper.audio import decode_audio

    try:
        samples = decode_audio(io.BytesIO(raw), sampling_rate=SAMPLE_RATE).astype(np.float32)
    except Exception as exc:  # noqa: BLE001 (PyAV raises its own error family for every container and codec)
        raise BadInput(f"not a readable audio file: {exc} (libsndfile: {libsndfile_says})") from exc
    if samples.size == 0:
        raise BadInput("not a readable audio file: no samples could be decoded")
    return samples


def trim_silence(samples: np.ndarray, frame: int = 480) -> tuple[np.ndarray, float]:
    """``samples`` without leading and trailing silent 30 ms frames, and the seconds cut at the start."""
    n = len(samples) // frame
    if n == 0:
        return samples, 0.0
    rms = np.sqrt(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1))
    voiced = np.flatnonzero(rms >= SILENCE_RMS)
    if len(voiced) == 0:
        return samples[:0], 0.0
    start, end = max(voiced[0] - 1, 0) * frame, min(voiced[-1] + 2, n) * frame  # keep a frame of margin
    return samples[start:end], start / SAMPLE_RATE


def _check_length(samples: np.ndarray) -> float:
    duration = len(samples) / SAMPLE_RATE
    if duration > MAX_SECONDS:
        raise BadInput(f"the recording is {duration / 60:.0f} minutes long; the limit is {MAX_SECONDS // 60} "
                       f"minutes, split it first")
    return duration


def _finish(parts: list[Segment], language: str, duration: float, bias: CatalogBias | None) -> Transcript:
    """The transcript of ``parts``, snapped to catalog terms when the bias asks for it (both backends)."""
    heard = " ".join(p.text for p in parts if p.text).strip()
    snapped = bias.vocabulary.snap(heard) if bias and bias.snap else None
    text = snapped.text if snapped else heard
    return Transcript(text, language, parts, duration, is_silent=not text, heard=heard,
                      corrections=snapped.changes if snapped else [])


class WhisperTranscriber:
    """A faster-whisper model from the registry. ``transcribe`` returns a :class:`Transcript`.

    Decoding is set for speed on a laptop CPU: int8 weights, greedy search, no timestamp tokens, silence
    trimmed and the VAD filter on, English fixed for multilingual models (``language=None`` detects it
    instead, at the cost of one more pass), and 20 s windows instead of whisper's 30 s: the encoder's cost
    is per window, so a short request is encoded a third faster, with the same WER on the spoken test set
    (docs/benchmarks.md ## Speech)."""

    def __init__(self, model: "object", name: str, language: str | None = "en", window_seconds: int = 20) -> None:
        self.model, self.name, self.language, self.window_seconds = model, name, language, window_seconds

    @classmethod
    def from_registry(cls, name: str | None = None, device: str = "cpu", compute_type: str = "int8",
                      cpu_threads: int | None = None, registry: ModelRegistry = REGISTRY,
                      language: str | None = "en") -> "WhisperTranscriber":
        """``name`` defaults to the registry's default speech model (chosen by the ## Speech benchmark).

        ``cpu_threads`` defaults to torch's thread count: CTranslate2 sets the process-wide OpenMP thread count
        that torch reads too, so a larger number here would silently give every later torch computation in the
        process more threads than it was given (two test workers on two cores then each ran on two threads)."""
        import torch
        from faster_whisper import WhisperModel

        name = name or registry.default("speech")
        spec = registry.get(name)
        if spec.kind != "speech":
            raise KitError(f"{name!r} is not a speech model; speech models: {registry.list_models('speech')}")
        if spec.source_type == "url":
            raise KitError(f"{name!r} is an openai-whisper checkpoint; faster-whisper needs a CTranslate2 model such as whisper-tiny.en")
        resolved = registry.resolve(name)
        threads = torch.get_num_threads()
        model = WhisperModel(str(resolved.path), device=device, compute_type=compute_type,
                             cpu_threads=cpu_threads or threads)
        torch.set_num_threads(threads)  # an explicit cpu_threads is the decoder's, not the rest of the process's
        return cls(model, name, language if model.model.is_multilingual else "en")

    def transcribe(self, audio: AudioInput, sample_rate: int | None = None, beam_size: int = 1,
                   bias: CatalogBias | None = None) -> Transcript:
        """Speech to text; with a ``bias`` the catalog's words steer decoding and near misses are snapped."""
        samples = load_audio(audio, sample_rate)
        duration = _check_length(samples)
        samples, offset = trim_silence(samples)
        if len(samples) == 0 or float(np.sqrt(np.mean(samples**2))) < SILENCE_RMS:
            return Transcript("", "en", [], duration, is_silent=True)
        options = bias.decoder_options() if bias else {}
        lead_in = np.zeros(int(LEAD_IN_SECONDS * SAMPLE_RATE), np.float32)
        samples, offset = np.concatenate([lead_in, samples, lead_in]), offset - LEAD_IN_SECONDS
        segments, info = self.model.transcribe(samples, beam_size=beam_size, vad_filter=True, language=self.language,
                                               without_timestamps=True, condition_on_previous_text=False,
                                               chunk_length=self.window_seconds, **options)
        parts = [Segment(round(max(s.start + offset, 0.0), 2), round(max(s.end + offset, 0.0), 2), s.text.strip())
                 for s in segments]
        return _finish(parts, info.language, duration, bias)


class OpenAIWhisperTranscriber:
    """An openai-whisper checkpoint (``whisper-base``, ``whisper-small``) once its weights are cached.

    Needs the ``openai-whisper`` package, which the kit does not install (``pip install openai-whisper``);
    the weights are checked against the sha256 in the registry like every other model.
    """

    def __init__(self, model: "object", name: str) -> None:
        self.model, self.name = model, name

    @classmethod
    def from_registry(cls, name: str = "whisper-base", device: str = "cpu",
                      registry: ModelRegistry = REGISTRY) -> "OpenAIWhisperTranscriber":
        resolved = registry.resolve(name)  # raises ModelNotAvailable with `python -m kit fetch NAME` advice
        try:
            import whisper
        except ImportError:
            raise ModelNotAvailable(f"{name} is cached, but the openai-whisper package is not installed: "
                                    f"pip install openai-whisper") from None
        return cls(whisper.load_model(str(resolved.weights_path), device=device), name)

    def transcribe(self, audio: AudioInput, sample_rate: int | None = None, beam_size: int = 1,
                   bias: CatalogBias | None = None) -> Transcript:
        samples = load_audio(audio, sample_rate)
        duration = _check_length(samples)
        samples, offset = trim_silence(samples)
        if len(samples) == 0:
            return Transcript("", "en", [], duration, is_silent=True)
        prompt = bias.decoder_options()["initial_prompt"] if bias else None  # openai-whisper has no hotwords
        result = self.model.transcribe(samples, beam_size=beam_size if beam_size > 1 else None, fp16=False,
                                       initial_prompt=prompt)
        parts = [Segment(round(s["start"] + offset, 2), round(s["end"] + offset, 2), s["text"].strip())
                 for s in result["segments"]]
        return _finish(parts, result.get("language", "en"), duration, bias)


def load_transcriber(name: str | None = None, registry: ModelRegistry = REGISTRY):
    """The right backend for a registry name (default: the registry's default speech model): faster-whisper
    for CTranslate2 models, openai-whisper otherwise."""
    name = name or registry.default("speech")
    spec = registry.get(name)
    if spec.kind != "speech":
        raise KitError(f"{name!r} is not a speech model; speech models: {registry.list_models('speech')}")
    if spec.source_type == "url":
        return OpenAIWhisperTranscriber.from_registry(name, registry=registry)
    return WhisperTranscriber.from_registry(name, registry=registry)


def transcribe(audio: AudioInput, sample_rate: int | None = None, model: str | None = None) -> Transcript:
    """One-off transcription. It loads the model on every call: keep a ``load_transcriber(...)`` to reuse it."""
    return load_transcriber(model).transcribe(audio, sample_rate)
