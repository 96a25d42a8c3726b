"""The Gradio assistant as a person uses it: handlers, the HTTP API (gradio_client, every api_name),
a real browser (Debian's chromium driven by Playwright), and 10 clients at once."""

from __future__ import annotations

import shutil
import socket
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
sys.path.insert(0, str(ROOT / "apps"))

import assistant as app_module  # noqa: E402  (apps/ is not a package: it is the top layer)

from kit.assistant import Assistant  # noqa: E402
from kit.catalog import Catalog  # noqa: E402
from kit.search import CatalogSearch  # noqa: E402

# one unit for the test workers: the tests share this module's set-up (see conftest)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("app")]


@pytest.fixture(scope="module")
def app(grocery_search, fashion_slice, lit_encoder, minilm):
    import torch
    from diffusers import DDPMScheduler

    from kit.imagery import TextToProductImage
    from kit.imagery.pixel_pipeline import TextConditionedPixelPipeline, tiny_unet
    from kit.llm.local import LocalChatModel

    # items of the suite's fashion slice, whose photos the shared fashion_search fixture embeds anyway (disk cache)
    small_fashion = CatalogSearch.build(Catalog(fashion_slice.items[:200], name="fashion_products"), lit_encoder)
    torch.manual_seed(0)
    pipe = TextConditionedPixelPipeline(tiny_unet(16, 384, (8, 16)), DDPMScheduler(num_train_timesteps=100))
    pipe.set_progress_bar_config(disable=True)
    assistant = Assistant({"grocery_store": grocery_search, "fashion_products": small_fashion},
                          planner_llm=lambda: LocalChatModel.from_registry(),
                          image_generator=lambda: TextToProductImage(pipe, "tiny-test-pipeline", minilm.encode))
    return app_module.AssistantApp(assistant)


@pytest.fixture(scope="module")
def server(app):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    demo = app_module.build_demo(app)
    allowed = app_module.served_paths([s.catalog for s in app.assistant.searches.values()])
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                allowed_paths=allowed, max_file_size="10mb")
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def message_text(message: dict) -> str:
    """A chat message's text (gradio 6 sends content over HTTP as a list of typed parts)."""
    content = message["content"]
    return content if isinstance(content, str) else " ".join(part.get("text", "") for part in content)


def test_the_module_exposes_an_importable_demo():
    import gradio as gr

    assert isinstance(app_module.demo, gr.Blocks)


def test_handlers_called_directly(app, tmp_path):
    history, cards, card_text, plan, basket, state, *_ = app.send("lemons", None, None, [], None, "grocery_store")
    assert history[-1]["role"] == "assistant" and "Lemon" in cards[0][1] and state["last_results"][0] == "Lemon"
    assert card_text.startswith("1. **Lemon**") and "hybrid search" in card_text  # which model, and why
    history, _, _, _, basket, state, *_ = app.send("add the last one", None, None, history, state, "grocery_store")
    assert basket == [[app.assistant.searches["grocery_store"].catalog[state["last_results"][-1]].title, 1,
                       "you added it"]]
    outside = app.send("x", "/etc/passwd", None, history, state, "grocery_store")
    assert "only uploaded files" in outside[0][-1]["content"] and outside[5] == state  # nothing lost
    broken = app.send("lemons", None, None, history, {"catalog": 42, "basket": "?"}, "grocery_store")
    assert "starting afresh" in broken[0][-1]["content"]  # a garbled state from the browser is no crash
    assert app.switch_catalog("fashion_products")[5]["catalog"] == "fashion_products"
    assert "Unknown catalog" in app.switch_catalog("nope")[0][0]["content"]
    for odd in (None, ["grocery_store"], 7, "x" * 10_000):  # what an API caller can send: a message, never a crash
        history, *_, state_out, _, _, _, _ = app.switch_catalog(odd)
        assert history[0]["content"].startswith("Sorry") and len(history[0]["content"]) < 300
        assert state_out["catalog"] in app.assistant.searches
    assert "shopkit-lit" in app.models()


def test_the_catalog_switch_says_why_when_the_assistant_cannot_be_built(monkeypatch):
    from kit.errors import ModelNotAvailable

    def missing_model(catalogs):  # what a fresh machine without the models looks like
        raise ModelNotAvailable("shopkit-lit is not trained here; run `python -m kit prepare`")

    monkeypatch.setattr(app_module, "build_assistant", missing_model)
    history, *_ = app_module.AssistantApp().switch_catalog("fashion_products")
    assert history[0]["content"] == "Sorry: shopkit-lit is not trained here; run `python -m kit prepare`"


def test_catalogs_prepared_in_the_background_join_when_ready(grocery_search, fashion, lit_encoder):
    from kit.catalog import Catalog

    app = app_module.AssistantApp(Assistant({"grocery_store": grocery_search}, planner_llm=lambda: None))
    small = Catalog(fashion.items[:40], name="fashion_products")
    app.preparing["fashion_products"] = "waiting its turn"
    early = app.switch_catalog("fashion_products")
    assert "still being prepared" in early[0][0]["content"] and "grocery_store" in early[0][0]["content"]
    assert "still being prepared" in app.send("shirts", None, None, [], early[5], "fashion_products")[0][-1]["content"]
    app.assistant.warm_up = lambda: None  # the planner's LLM is not what this test is about
    app.prepare_in_background([small], lit_encoder).join(timeout=300)
    assert app.preparing == {} and "fashion_products" in app.assistant.searches
    history, cards, *_ = app.send("shirts", None, None, [], early[5], "fashion_products")
    assert cards and history[-1]["content"].startswith("Here is what I found")


def test_a_plan_streams_its_steps_into_the_chat_before_the_reply(app, grocery_search):
    outputs = list(app.send_streaming("I'm hosting a brunch for four on Sunday", None, None, [], None, "grocery_store"))
    partial, final = outputs[:-1], outputs[-1]
    assert len(partial) >= 3 and all(len(o) == len(final) == 10 for o in outputs)
    shown = [o[0][-1]["content"] for o in partial]
    assert shown[0].startswith("… Looking in: ") and any("… Step 1:" in text for text in shown)
    assert all(a in b for a, b in zip(shown, shown[1:]))  # each update adds to what is shown
    history, _, _, plan, basket, state, *_ = final
    assert plan.startswith("**Plan for") and history[-1]["content"] == plan
    titles = {item.title for item in grocery_search.catalog}
    assert basket and all(row[0] in titles for row in basket)


def test_quick_buttons_come_from_the_tool_table(app):
    from kit.assistant import TOOLS

    assert [label for label, _ in app_module.QUICK_BUTTONS] == [t.button for t in TOOLS.values() if t.button]
    history, *_ = app.quick(TOOLS["basket"].examples[0], [], None, "grocery_store")
    assert history[-1]["content"].startswith("Your basket is empty")


def test_spoken_replies_and_the_wish_in_the_imagery_tab(app):
    import soundfile as sf

    *_, audio = app.send("lemons", None, None, [], None, "grocery_store", True)
    samples, rate = sf.read(audio)
    assert Path(audio).suffix == ".wav" and len(samples) / rate > 0.5
    assert app.send("lemons", None, None, [], None, "grocery_store", False)[-1] is None
    image, caption = app.generate("lemon", "on a picnic table", 3, None)
    assert Path(image).is_file() and "AI-generated" in caption and caption.endswith("on a picnic table")


def test_every_api_name_over_http(server, grocery_search):
    from gradio_client import Client, handle_file

    client = Client(server, verbose=False)
    names = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    from kit.assistant import TOOLS

    quick = {f"/quick_{t.name}" for t in TOOLS.values() if t.button}
    assert names == {"/send", "/submit", "/switch_catalog", "/generate_image", "/models"} | quick
    history, cards, *_ = client.predict("orange juice", None, None, [], "grocery_store", api_name="/send")
    assert "Juice" in cards[0]["caption"]
    photo = handle_file(str(grocery_search.catalog["Granny-Smith"].image))
    _, cards, *_ = client.predict("", photo, None, [], "grocery_store", api_name="/send")
    assert cards[0]["caption"].startswith("Granny Smith")
    _, cards, *_ = client.predict("lemons", None, None, [], "grocery_store", api_name="/submit")
    assert cards[0]["caption"].startswith("Lemon")
    history, cards, *_ = client.predict("fashion_products", api_name="/switch_catalog")
    assert history == [] and cards == []
    image, caption = client.predict("lemon", "on a table", 3, api_name="/generate_image")
    assert Path(image).is_file() and "AI-generated" in caption and caption.endswith("on a table")
    history, *_ = client.predict(api_name="/quick_help")
    assert message_text(history[-1]).startswith("I can")
    assert "shopkit-lit" in client.predict(api_name="/models")


def test_only_product_photos_are_served_and_bad_uploads_get_a_message(server, app, grocery_search, tmp_path):
    import urllib.error
    import urllib.request

    from gradio_client import Client, handle_file

    from test_bad_input import bomb_png

    photo = grocery_search.catalog["Granny-Smith"].image
    checksums = next(p for p in photo.parents if (p / "SHA256SUMS").is_file()) / "SHA256SUMS"
    description = next(photo.parent.glob("*.txt"))
    fetch = lambda path: urllib.request.urlopen(f"{server}gradio_api/file={path}", timeout=30)  # noqa: E731
    assert fetch(photo).status == 200
    for secret in (checksums, description, "/etc/passwd"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            fetch(secret)
        assert refused.value.code in (403, 404)
    client = Client(server, verbose=False)
    for name, data in (("bomb.png", bomb_png(20_000, 20_000)), ("note.jpg", b"just text")):
        (tmp_path / name).write_bytes(data)
        history, cards, *_ = client.predict("", handle_file(str(tmp_path / name)), None, [], "grocery_store",
                                            api_name="/send")
        text = message_text(history[-1])
        assert text.startswith("Sorry") and name in text and cards == []


def test_a_real_browser_types_searches_and_uploads(server, grocery_search):
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is missing: `make test` installs it with apt (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        try:
            page = browser.new_page()
            page.goto(server)
            page.locator("#request textarea").fill("lemons")
            page.locator("#send").click()
            page.wait_for_selector("#cards img", timeout=60_000)
            assert "Lemon" in page.locator("#cards").inner_text()
            page.locator("#photo input[type=file]").set_input_files(str(grocery_search.catalog["Granny-Smith"].image))
            page.wait_for_timeout(1500)
            page.locator("#send").click()
            page.wait_for_function("document.querySelector('#cards').innerText.startsWith('products\\nGranny Smith')"
                                   " || document.querySelector('#cards').innerText.includes('\\nGranny Smith')",
                                   timeout=60_000)
            page.locator("#speak input[type=checkbox]").check()  # spoken replies: the audio element gets a WAV
            page.locator("#request textarea").fill("orange juice")
            page.locator("#send").click()
            page.wait_for_selector("#reply-audio audio[src]", state="attached", timeout=60_000)
            source = page.locator("#reply-audio audio[src]").first.get_attribute("src")
            head = page.evaluate("async (src) => { const b = await (await fetch(src)).arrayBuffer();"
                                 " return [Array.from(new Uint8Array(b.slice(0, 12))), b.byteLength]; }", source)
            wav = bytes(head[0])
            assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE" and head[1] > 10_000  # the browser holds a WAV
            page.screenshot(path=str(ARTIFACTS / "assistant.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "assistant.png").stat().st_size > 10_000


def test_ten_clients_at_once_without_errors(server):
    """Ten shoppers sending three turns each at the same time: every turn answered, none failed (what a class
    of learners does to one app; the count of turns is fixed, so the check does not depend on the machine's speed)."""
    from gradio_client import Client

    queries = ["lemons", "apples", "orange juice", "milk", "yoghurt", "tomatoes", "peppers", "melon", "pears", "kiwi"]
    errors, done = [], []

    def shopper(query: str) -> None:
        client = Client(server, verbose=False)
        for _ in range(3):
            try:
                _, cards, *_ = client.predict(query, None, None, [], "grocery_store", api_name="/send")
                assert cards, f"no products for {query}"
                done.append(query)
            except Exception as error:  # every failure is counted, none hidden
                errors.append(repr(error))

    threads = [threading.Thread(target=shopper, args=(q,)) for q in queries]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == [] and len(done) == 30 and set(done) == set(queries)


def test_a_spoken_request_shows_its_transcript_before_the_reply(app):
    from kit.speech import speak

    app_module.upload_root().mkdir(parents=True, exist_ok=True)
    clip = app_module.upload_root() / "test-request.wav"  # where Gradio puts a recording
    speak("do you have sour cream", out=clip)  # the hibari voice, standing in for a microphone
    outputs = list(app.send_streaming("", None, str(clip), [], None, "grocery_store"))
    partial, final = outputs[:-1], outputs[-1]
    first = partial[0][0][-1]["content"]
    assert first.startswith("… I heard: “") and "sour cream" in first.lower()
    history = final[0]
    assert history[-2]["content"].startswith("🎤") and "sour cream" in history[-2]["content"].lower()
    assert history[-1]["role"] == "assistant" and not history[-1]["content"].startswith("…")
