"""Each offline model really loads and gives a sane answer (real weights, no stand-ins)."""

import json

import numpy as np
import pytest


def test_minilm_orders_similarity(minilm):
    vectors = minilm.encode(["a red apple", "a green apple", "a leather handbag"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.2


def test_e5_small_orders_similarity_in_two_languages():
    from kit.clip.towers import load_text_encoder

    e5 = load_text_encoder("e5-small")
    query = e5.encode(["fresh fruit"], kind="query")[0]
    passages = e5.encode(["a basket of apples and pears", "ein Korb mit Äpfeln", "a leather handbag"])
    scores = passages @ query
    assert scores[0] > scores[2] and scores[1] > scores[2]


def test_efficientnet_lite0_sees_espresso_in_the_coffee_picture():
    import torch
    from PIL import Image
    from skimage import data

    from kit.clip.towers import imagenet_label, load_image_tower

    model, transform = load_image_tower("efficientnet-lite0")
    with torch.no_grad():
        probs = model(transform(Image.fromarray(data.coffee()))[None]).softmax(-1)[0]
    assert imagenet_label(int(probs.argmax())) == "espresso"
    assert float(probs.max()) > 0.5


@pytest.mark.parametrize("name", ["whisper-tiny.en", "whisper-base"])
def test_each_packaged_whisper_transcribes_an_espeak_clip(name, espeak_clip, grocery):
    from kit.speech import CatalogBias, CatalogVocabulary, WhisperTranscriber
    from kit.speech.evaluate import word_error_rate

    said = "I would like two bottles of orange juice and a bag of apples"
    bias = CatalogBias(CatalogVocabulary.from_catalog(grocery))
    transcript = WhisperTranscriber.from_registry(name).transcribe(espeak_clip(said), bias=bias)
    assert transcript.language == "en" and not transcript.is_silent
    assert word_error_rate([said], [transcript.text]) <= 0.2, transcript.text
    assert transcript.segments and transcript.segments[0].end > transcript.segments[0].start


def test_hibari_speaks_and_whisper_understands_it(whisper):
    from kit.speech import speak

    audio, rate = speak("Please add apples and bananas to my basket.")
    assert rate == 24_000 and 1.0 < len(audio) / rate < 10.0
    assert float(np.abs(audio).max()) > 0.05
    heard = whisper.transcribe(audio, sample_rate=rate).text.lower()
    assert "apples" in heard and "basket" in heard


@pytest.mark.slow
def test_smollm2_answers_with_json():
    from kit.llm.local import LocalChatModel

    chat = LocalChatModel.from_registry("smollm2-135m-instruct")
    reply = chat.chat([{"role": "user", "content": "Reply only with a JSON object with keys item and quantity for: two apples."}],
                      max_new_tokens=40)
    assert "{" in reply and "}" in reply
    start, end = reply.index("{"), reply.rindex("}") + 1
    json.loads(reply[start:end])  # a real JSON object (the validating backend comes with the LLM issue)
