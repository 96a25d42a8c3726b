"""Speech input (whisper) and spoken replies (hibari, espeak-ng)."""

from kit.speech.asr import Segment, Transcript, WhisperTranscriber, load_audio
from kit.speech.tts import speak

__all__ = ["Segment", "Transcript", "WhisperTranscriber", "load_audio", "speak"]
