"""Bad audio gives a clear error or an honest empty transcript, never garbage."""

import numpy as np
import pytest

from kit.errors import BadInput
from kit.speech import load_audio, speak, trim_silence
from kit.speech.evaluate import SHOPPING_REQUESTS, word_error_rate


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


def test_arrays_are_resampled_to_16_khz_mono():
    stereo = np.zeros((48_000, 2), np.float32)
    assert load_audio(stereo, sample_rate=48_000).shape == (16_000,)
    pcm = (np.ones(8_000) * 16_000).astype(np.int16)
    assert load_audio(pcm, sample_rate=16_000).max() == pytest.approx(16_000 / 32_767)


def test_silence_gives_an_empty_flagged_transcript(whisper):
    transcript = whisper.transcribe(np.zeros(32_000, np.float32), sample_rate=16_000)
    assert transcript.text == "" and transcript.is_silent and transcript.duration == 2.0


@pytest.mark.slow
def test_ten_spoken_shopping_requests_are_transcribed_within_a_wer_bound(whisper, espeak_clip):
    heard = [whisper.transcribe(espeak_clip(text, words_per_minute=140)).text for text in SHOPPING_REQUESTS]
    assert word_error_rate(SHOPPING_REQUESTS, heard) < 0.25, heard


def test_silence_around_speech_is_trimmed_and_times_stay_true(whisper, espeak_clip):
    import soundfile as sf

    speech, rate = sf.read(str(espeak_clip("two lemons please")), dtype="float32")
    padded = np.concatenate([np.zeros(rate * 3, np.float32), speech, np.zeros(rate * 2, np.float32)])
    transcript = whisper.transcribe(padded, sample_rate=rate)
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

    with pytest.raises(ModelNotAvailable, match="fetch whisper-base"):
        load_transcriber("whisper-base")
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
