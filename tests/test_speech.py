"""Bad audio gives a clear error or an honest empty transcript, never garbage."""

import numpy as np
import pytest

from kit.errors import BadInput
from kit.speech import load_audio, speak


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
