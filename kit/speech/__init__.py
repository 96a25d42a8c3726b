"""Speech input (whisper) and spoken replies (hibari, espeak-ng)."""

from kit.speech.asr import (CatalogBias, OpenAIWhisperTranscriber, Segment, Transcript, WhisperTranscriber, load_audio,
                            load_transcriber, transcribe, trim_silence)
from kit.speech.tts import speak
from kit.speech.vocabulary import CatalogVocabulary

__all__ = ["CatalogBias", "CatalogVocabulary", "OpenAIWhisperTranscriber", "Segment", "Transcript", "WhisperTranscriber", "load_audio",
           "load_transcriber", "speak", "transcribe", "trim_silence"]
