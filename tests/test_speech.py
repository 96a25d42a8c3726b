"""Bad audio gives a clear error or an honest empty transcript, never garbage."""

import numpy as np
import pytest

from kit.errors import BadInput
from kit.speech import load_audio, speak, trim_silence
from kit.speech.evaluate import word_error_rate


def test_empty_and_non_audio_are_refused(tmp_path):
    with pytest.raises(BadInput, match="empty"):
        load_audio(b"")
    notes = tmp_path / "notes.wav"
    notes.write_text("this is not a recording")
    with pytest.raises(BadInput, match="not a readable audio file"):
        load_audio(notes)
    with pytest.raises(BadInput, match="not found"):
        load_audio(tmp_path / "missing.wav")
    with pytest.raises(BadInput, match="sample_rate"):
        load_audio(np.zeros(100, np.float32))
    with pytest.raises(BadInput, match="nothing to say"):
        speak("   ")
    with pytest.raises(BadInput, match="not an espeak-ng voice"):
        speak("two lemons", voice="espeak-ng", espeak_voice="en --stdout; rm")  # never passed on as options


def test_arrays_are_resampled_to_16_khz_mono():
    stereo = np.zeros((48_000, 2), np.float32)
    assert load_audio(stereo, sample_rate=48_000).shape == (16_000,)
    pcm = (np.ones(8_000) * 16_000).astype(np.int16)
    assert load_audio(pcm, sample_rate=16_000).max() == pytest.approx(16_000 / 32_767)


def test_loading_whisper_leaves_torchs_thread_count_alone():
    """CTranslate2 sets the process-wide OpenMP thread count, which torch reads too: before this was guarded,
    loading whisper gave every later torch computation in a test worker two threads on a shared core."""
    import torch

    from kit.speech import WhisperTranscriber

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        WhisperTranscriber.from_registry()
        assert torch.get_num_threads() == 1
        WhisperTranscriber.from_registry(cpu_threads=2)  # the decoder's own threads, not the process's
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_silence_gives_an_empty_flagged_transcript(whisper):
    transcript = whisper.transcribe(np.zeros(32_000, np.float32), sample_rate=16_000)
    assert transcript.text == "" and transcript.is_silent and transcript.duration == 2.0


@pytest.mark.slow
def test_the_default_model_with_the_catalog_bias_hears_the_test_set_in_the_hibari_voice(whisper, grocery, fashion,
                                                                                      tmp_path):
    from kit.speech import CatalogBias, CatalogVocabulary
    from kit.speech.evaluate import SPEAKERS, entity_accuracy, load_spoken_requests

    requests = load_spoken_requests()[::6]  # a dozen over both catalogs
    vocabularies = {"grocery_store": CatalogVocabulary.from_catalog(grocery),
                    "fashion_products": CatalogVocabulary.from_catalog(fashion)}
    hibari = next(s for s in SPEAKERS if s.name == "hibari")
    heard = [whisper.transcribe(hibari.render(r.text, tmp_path / f"{r.id}.wav"),
                                bias=CatalogBias(vocabularies[r.catalog])).text for r in requests]
    assert word_error_rate([r.text for r in requests], heard) <= 0.10, heard
    assert entity_accuracy(requests, heard) >= 0.9, heard


@pytest.mark.parametrize("speaker", ["espeak-ng", "espeak-ng slow", "espeak-ng en-us female", "hibari"])
def test_each_test_voice_is_rendered_and_understood(whisper, grocery, speaker, tmp_path):
    from kit.speech import CatalogBias, CatalogVocabulary
    from kit.speech.evaluate import SPEAKERS

    voice = next(s for s in SPEAKERS if s.name == speaker)
    clip = voice.render("do you have sour cream", tmp_path / "clip.wav")
    transcript = whisper.transcribe(clip, bias=CatalogBias(CatalogVocabulary.from_catalog(grocery)))
    assert "sour cream" in transcript.text.lower(), transcript


def test_silence_around_speech_is_trimmed_and_times_stay_true(whisper, espeak_clip, grocery):
    import soundfile as sf

    from kit.speech import CatalogBias, CatalogVocabulary

    speech, rate = sf.read(str(espeak_clip("two lemons please")), dtype="float32")
    padded = np.concatenate([np.zeros(rate * 3, np.float32), speech, np.zeros(rate * 2, np.float32)])
    transcript = whisper.transcribe(padded, sample_rate=rate, bias=CatalogBias(CatalogVocabulary.from_catalog(grocery)))
    assert "lemons" in transcript.text.lower() and transcript.duration == pytest.approx(len(padded) / rate, abs=1e-3)
    assert transcript.segments[0].start >= 2.5  # measured from the start of the recording, not the trimmed clip
    trimmed, offset = trim_silence(load_audio(padded, rate))
    assert offset == pytest.approx(3.0, abs=0.1) and len(trimmed) < len(load_audio(padded, rate)) * 0.5


def test_speak_then_transcribe_round_trip(whisper, tmp_path):
    out = tmp_path / "reply.wav"
    audio, rate = speak("Your basket has three items", out=out)  # the default voice, hibari
    assert out.stat().st_size > 1000 and len(audio) / rate > 0.5
    words = set(whisper.transcribe(out).text.lower().replace(".", "").split())
    assert {"basket", "three", "items"} <= words


def test_very_long_and_garbage_recordings_are_refused(whisper):
    with pytest.raises(BadInput, match="limit is 30 minutes"):
        whisper.transcribe(np.zeros(16_000 * 60 * 31, np.float32), sample_rate=16_000)
    with pytest.raises(BadInput, match="not a readable audio file"):
        whisper.transcribe(b"\x00\x01garbage" * 100)


def test_unavailable_speech_models_say_how_to_get_them():
    from kit.errors import KitError, ModelNotAvailable
    from kit.speech import load_transcriber

    with pytest.raises(ModelNotAvailable, match="fetch whisper-small"):
        load_transcriber("whisper-small")
    with pytest.raises(KitError, match="not a speech model"):
        load_transcriber("minilm")


def test_cli_transcribes_and_speaks(tmp_path, capsys):
    from kit.cli import main

    out = tmp_path / "hello.wav"
    assert main(["speak", "show me blue jeans", "-o", str(out), "--voice", "espeak-ng"]) == 0
    assert main(["transcribe", str(out), "--json"]) == 0
    printed = capsys.readouterr().out
    assert "blue jeans" in printed.lower()


def test_speak_falls_back_to_espeak_when_hibari_is_missing(caplog):
    import dataclasses

    from kit.registry import REGISTRY, ModelRegistry

    registry = ModelRegistry()
    hibari = REGISTRY.get("hibari")
    registry.register(dataclasses.replace(hibari, source={**hibari.source, "module": "no_such_voice_package",
                                                          "distribution": "no-such-voice-package"}))
    audio, rate = speak("two lemons", voice="hibari", registry=registry)
    assert rate != 24_000 and len(audio) > rate * 0.3  # espeak-ng's rate, not hibari's
    assert "speaking with espeak-ng" in caplog.text


def _shop():
    from kit.catalog import Catalog, Item

    return Catalog([
        Item("1", "Alpro Blueberry Soyghurt", category="Soyghurt", attributes={"volume": "Alpro, 500g"}),
        Item("2", "Alpro Vanilla Soyghurt", category="Soyghurt"),
        Item("3", "Zucchini", category="Zucchini"),
        Item("4", "Oatly Oat Milk", category="Oat-Milk"),
        Item("5", "Avocado", category="Avocado"),
        Item("6", "Feather Pillow", category="Bedding"),
    ], name="shop")


def test_the_catalog_vocabulary_holds_product_words_not_pack_sizes():
    from kit.speech import CatalogVocabulary

    vocabulary = CatalogVocabulary.from_catalog(_shop())
    assert {"soyghurt", "oat milk", "zucchini", "alpro", "oatly", "feather"} <= set(vocabulary.terms)
    assert vocabulary.terms["soyghurt"] == 4  # two items' category plus the title word they share
    assert not any(c.isdigit() for term in vocabulary.terms for c in term)  # "alpro 500g" is not a word
    assert "soyghurt" in vocabulary.categories and "alpro" not in vocabulary.categories


def test_the_whisper_prompt_is_bounded_and_puts_the_conversation_first():
    from kit.speech import CatalogVocabulary

    vocabulary = CatalogVocabulary.from_catalog(_shop())
    prompt = vocabulary.prompt(max_words=4)
    assert len(prompt.replace(",", " ").split()) <= 4 and prompt.startswith("soyghurt")  # categories, most items first
    assert vocabulary.prompt(max_words=4, context="I liked the feather one").startswith("feather")
    assert vocabulary.prompt(max_words=0) == "" and "." not in vocabulary.hotwords(3)


def test_near_misses_snap_to_catalog_terms_and_nothing_else_moves():
    from kit.speech import CatalogVocabulary

    vocabulary = CatalogVocabulary.from_catalog(_shop())
    snapped = vocabulary.snap("I want a soyogurt and some zuccini.")
    assert snapped.text == "I want a soyghurt and some zucchini."
    assert snapped.changes == [("soyogurt", "soyghurt"), ("zuccini", "zucchini")]
    for untouched in ("show me the second one", "two ripe avocados", "a gift for my father",
                      "Find me a million younger twin-out, Harry please"):
        assert vocabulary.snap(untouched).text == untouched  # catalog words, plurals, everyday words, far words
    assert vocabulary.with_terms("Quinoa Crunch").snap("a quinoa crunsh").text == "a quinoa crunch"


def test_the_spoken_test_set_covers_both_catalogs_and_its_entities_are_catalog_words(grocery, fashion):
    from kit.speech import CatalogVocabulary
    from kit.speech.evaluate import SPEAKERS, load_spoken_requests
    from kit.speech.vocabulary import words_of

    requests = load_spoken_requests()
    assert len(requests) >= 60 and len({r.id for r in requests}) == len(requests)
    assert {r.catalog for r in requests} == {"grocery_store", "fashion_products"}
    assert {"product", "quantity", "attribute", "reference"} <= {r.kind for r in requests}
    assert len(SPEAKERS) >= 3
    vocabularies = {"grocery_store": CatalogVocabulary.from_catalog(grocery),
                    "fashion_products": CatalogVocabulary.from_catalog(fashion)}
    for request in requests:
        for entity in request.entities:
            assert entity in request.text.lower(), request
            unknown = [w for w in words_of(entity) if not vocabularies[request.catalog].knows(w)]
            assert unknown == [], (request.id, unknown)


def test_entity_accuracy_counts_catalog_words_and_numbers_match_as_digits():
    from kit.speech.evaluate import SpokenRequest, entity_accuracy, normalize, word_error_rate

    request = SpokenRequest("x", "grocery_store", "two ripe avocados and oat milk", ("avocados", "oat milk"), "quantity")
    assert normalize("Two ripe-avocados!") == "2 ripe avocados"
    assert word_error_rate([request.text], ["2 ripe avocados and oat milk"]) == 0.0
    assert entity_accuracy([request], ["2 ripe avocados and oatmeal"]) == pytest.approx(1 / 3)
    assert entity_accuracy([request], ["two ripe avocados and oat milk"]) == 1.0
