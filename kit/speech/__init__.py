"""Speech input (whisper) and spoken replies (hibari, espeak-ng)."""

from kit.speech.asr import (OpenAIWhisperTranscriber, Segment, Transcript, WhisperTranscriber, load_audio,
                            load_transcriber, transcribe, trim_silence)
from kit.speech.tts import speak

__all__ = ["OpenAIWhisperTranscriber", "Segment", "Transcript", "WhisperTranscriber", "load_audio",
           "load_transcriber", "speak", "transcribe", "trim_silence"]
