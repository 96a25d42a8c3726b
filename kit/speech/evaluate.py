"""The spoken test set: shopping requests over both bundled catalogs, rendered with several voices at test
time (the recipe is stored, not the WAV files), and the two numbers it is scored on.

- **WER** after :func:`normalize` (lower case, no punctuation, number words as digits, so "two" and "2"
  agree).
- **Entity accuracy**: the share of the catalog words in the references (each request lists its own,
  ``entities``) that the transcript contains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kit.files import read_jsonl
from kit.speech.tts import Voice, speak

SPOKEN_REQUESTS = Path(__file__).resolve().parents[2] / "tests" / "data" / "spoken_requests.jsonl"
NUMBER_WORDS = {w: str(i) for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())}


@dataclass(frozen=True)
class SpokenRequest:
    id: str
    catalog: str
    text: str
    entities: tuple[str, ...]  # catalog words and phrases as said in ``text``
    kind: str  # product | quantity | attribute | reference


@dataclass(frozen=True)
class Speaker:
    """How one voice of the test set is rendered."""

    name: str
    voice: Voice
    words_per_minute: int | None = None
    espeak_voice: str | None = None

    def render(self, text: str, out: str | Path) -> Path:
        speak(text, self.voice, out, words_per_minute=self.words_per_minute, espeak_voice=self.espeak_voice)
        return Path(out)


SPEAKERS = (
    Speaker("espeak-ng", "espeak-ng"),
    Speaker("espeak-ng slow", "espeak-ng", words_per_minute=130),
    Speaker("espeak-ng en-us female", "espeak-ng", espeak_voice="en-us+f3"),
    Speaker("hibari", "hibari"),
)


def load_spoken_requests(path: str | Path = SPOKEN_REQUESTS, catalog: str | None = None) -> list[SpokenRequest]:
    """The test set's requests (of one ``catalog`` when given)."""
    requests = read_jsonl(path, lambda row: SpokenRequest(row["id"], row["catalog"], row["text"], tuple(row["entities"]),
                                                          row["kind"]), "a spoken request (id, catalog, text, entities, kind)")
    return [r for r in requests if catalog in (None, r.catalog)]


def normalize(text: str) -> str:
    """Lower case, punctuation and hyphens to spaces, number words as digits: 'Two red-apples.' -> '2 red apples'."""
    words = re.sub(r"[^a-z0-9 ]", " ", text.lower()).split()
    return " ".join(NUMBER_WORDS.get(w, w) for w in words)


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    import jiwer

    return jiwer.wer([normalize(r) for r in references], [normalize(h) for h in hypotheses])


def entity_accuracy(requests: list[SpokenRequest], hypotheses: list[str]) -> float:
    """Share of the references' catalog words that the transcripts contain (each word counted once per
    request); 1.0 when the requests name no catalog word."""
    wanted = found = 0
    for request, heard in zip(requests, hypotheses, strict=True):
        words = set(normalize(" ".join(request.entities)).split())
        heard_words = set(normalize(heard).split())
        wanted += len(words)
        found += len(words & heard_words)
    return found / wanted if wanted else 1.0


@dataclass(frozen=True)
class SpeechScores:
    """One transcriber on one set of clips: before and after snapping to catalog terms."""

    clips: int
    wer: float
    entity_accuracy: float
    wer_snapped: float
    entity_accuracy_snapped: float
    fixed: int  # transcripts whose WER snapping lowered
    broken: int  # transcripts whose WER snapping raised
    real_time_factor: float  # seconds of transcription per second of audio
    heard: tuple[str, ...] = ()


def score_transcripts(requests: list[SpokenRequest], heard: list[str], snapped: list[str],
                      audio_seconds: float, spent_seconds: float) -> SpeechScores:
    """Scores for transcripts of ``requests``: ``heard`` straight from whisper, ``snapped`` after snapping."""
    references = [r.text for r in requests]
    fixed = broken = 0
    for reference, before, after in zip(references, heard, snapped, strict=True):
        change = word_error_rate([reference], [after]) - word_error_rate([reference], [before])
        fixed, broken = fixed + (change < 0), broken + (change > 0)
    return SpeechScores(len(requests), word_error_rate(references, heard), entity_accuracy(requests, heard),
                        word_error_rate(references, snapped), entity_accuracy(requests, snapped), fixed, broken,
                        spent_seconds / max(audio_seconds, 1e-9), tuple(snapped))


BIAS_SETTINGS = {  # name -> (initial_prompt words, hotwords words); every setting is also scored after snapping
    "none": (0, 0),
    "prompt": (60, 0),
    "hotwords": (0, 30),
    "prompt + hotwords": (60, 30),
}


@dataclass(frozen=True)
class SpeechRow:
    model: str
    bias: str
    speaker: str
    scores: SpeechScores


def render_test_set(requests: list[SpokenRequest], speakers: tuple[Speaker, ...], folder: str | Path) -> dict[tuple[str, str], Path]:
    """Every request in every voice, as WAV files in ``folder``: {(speaker name, request id): path}."""
    clips = {}
    for speaker in speakers:
        for request in requests:
            name = f"{speaker.name.replace(' ', '_')}-{request.id}.wav"
            clips[speaker.name, request.id] = speaker.render(request.text, Path(folder) / name)
    return clips


def score_transcriber(transcriber, model: str, requests: list[SpokenRequest], clips: dict[tuple[str, str], Path],
                      vocabularies: dict, settings: dict[str, tuple[int, int]] = BIAS_SETTINGS,
                      beam_size: int = 1) -> list[SpeechRow]:
    """One row per (bias setting, speaker): WER and entity accuracy before and after snapping, and speed."""
    import time

    from kit.speech.asr import SAMPLE_RATE, CatalogBias, load_audio

    rows = []
    speakers = sorted({speaker for speaker, _ in clips}, key=[s.name for s in SPEAKERS].index)
    for bias, (prompt_words, hotword_words) in settings.items():
        for speaker in speakers:
            heard, snapped, audio_seconds, spent = [], [], 0.0, 0.0
            for request in requests:
                path = clips[speaker, request.id]
                audio_seconds += len(load_audio(path)) / SAMPLE_RATE
                setting = CatalogBias(vocabularies[request.catalog], prompt_words, hotword_words)
                started = time.perf_counter()
                transcript = transcriber.transcribe(path, beam_size=beam_size, bias=setting)
                spent += time.perf_counter() - started
                heard.append(transcript.heard)
                snapped.append(transcript.text)
            rows.append(SpeechRow(model, bias, speaker, score_transcripts(requests, heard, snapped, audio_seconds, spent)))
    return rows
