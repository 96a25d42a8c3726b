"""The ShopKit assistant in the browser (Gradio Blocks).

    python apps/assistant.py            # http://127.0.0.1:7860, offline, over the bundled catalogs
    make demo                           # the same, after setting up

``demo`` is importable (tests drive it directly, with gradio_client and with a real browser); the
assistant behind it is built on the first event or by ``AssistantApp.warm_up``. Every event has an
``api_name``, and every handler is an error boundary: whatever goes wrong becomes a message in the
app and a traceback in the log, never a broken page. The catalogs come from the kit's one catalog
table, the quick buttons from the assistant's tool table. Uploads are checked (file type, size, image
bombs) by the kit's loader before anything decodes them, and only files Gradio itself received are read;
the app serves the catalogs' product photos and nothing else.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import tempfile
import threading
from pathlib import Path

import gradio as gr

from kit.assistant import TOOLS, Assistant, ConversationState, Reply, build_assistant
from kit.bundled_catalogs import CATALOG_TABLE, CATALOGS
from kit.errors import BadInput, KitError
from kit.images import load_image
from kit.registry import model_table

log = logging.getLogger("apps.assistant")
MAX_UPLOAD_MB = 10
CONCURRENCY = 2  # two CPU cores: more parallel turns would only queue inside torch
QUICK_BUTTONS = [(tool.button, tool.examples[0]) for tool in TOOLS.values() if tool.button]


def upload_root() -> Path:
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()


def check_upload(path: str | None, kind: str) -> Path | None:
    """An uploaded file's path, if it is one Gradio received, small enough, and (for images) a real image."""
    if not path:
        return None
    file = Path(path).resolve()
    if not file.is_relative_to(upload_root()):
        raise BadInput(f"only uploaded files can be read, not {path}")
    if not file.is_file():
        raise BadInput("the upload is missing; please upload it again")
    if file.stat().st_size > MAX_UPLOAD_MB * 2**20:
        raise BadInput(f"the {kind} is larger than {MAX_UPLOAD_MB} MB")
    if kind == "photo":
        try:
            load_image(file)  # refuses non-images and decompression bombs with a clear message
        except BadInput as error:
            raise BadInput(f"the uploaded photo {Path(path).name!r} cannot be used: {error}") from None
    return file


class AssistantApp:
    """The handlers: plain functions of their inputs, so tests can call them without a browser."""

    def __init__(self, assistant: Assistant | None = None, voice: str = "hibari") -> None:
        self._assistant = assistant
        self.voice = voice
        self.preparing: dict[str, str] = {}  # catalog -> what is happening to it, while it is prepared in the background

    def prepare_in_background(self, catalogs: list, encoder) -> threading.Thread:
        """Embed and add ``catalogs`` one by one in a daemon thread, then load the planner's LLM.

        The app serves meanwhile; a catalog appears in the assistant when it is ready, and a shopper who
        picks it earlier is told what is happening (the Models tab shows it too)."""
        from kit.assistant import catalog_search, prepare_completion

        for catalog in catalogs:
            self.preparing[catalog.name] = "waiting its turn"

        def work() -> None:
            for catalog in catalogs:
                self.preparing[catalog.name] = f"embedding its {len(catalog)} products"
                try:
                    self.assistant.add_catalog(catalog.name, catalog_search(catalog, encoder))
                    prepare_completion(self.assistant, catalog.name)
                    del self.preparing[catalog.name]
                except Exception as error:  # noqa: BLE001 (the thread's boundary: logged, and said in the app)
                    log.exception("could not prepare %s", catalog.name)
                    self.preparing[catalog.name] = f"failed ({type(error).__name__}: {error}); see the log"
            try:
                self.assistant.warm_up()
            except Exception:  # noqa: BLE001 (the first plan will try again and say why)
                log.exception("could not load the planner's LLM in the background")

        thread = threading.Thread(target=work, name="prepare-catalogs", daemon=True)
        thread.start()
        return thread

    def not_ready(self, catalog: str) -> str | None:
        if catalog in self.assistant.searches or catalog not in self.preparing:
            return None
        ready = ", ".join(self.assistant.searches)
        return (f"The {catalog} catalog is still being prepared ({self.preparing[catalog]}); it works as soon as that "
                f"is done. Meanwhile you can shop in: {ready}.")

    @property
    def assistant(self) -> Assistant:
        if self._assistant is None:
            self._assistant = build_assistant(CATALOGS)
        return self._assistant

    def warm_up(self) -> None:
        self.assistant.warm_up()

    def new_state(self, catalog: str | None = None) -> dict:
        return self.assistant.new_state(catalog).model_dump(mode="json")

    # -- events (each one an error boundary) ---------------------------------------------------------
    def send(self, text: str, photo: str | None, audio: str | None, history: list | None, state: dict | None,
             catalog: str, speak_replies: bool = False, progress=None):
        """One turn; ``progress`` (a callable) is told each visible step of a long turn, such as a plan."""
        history = list(history or [])
        try:
            state_obj = self._state(state, catalog)
        except Exception:  # noqa: BLE001 (a state the browser sent back broken: start afresh, say so)
            log.exception("unreadable conversation state")
            history.append({"role": "assistant", "content": "Sorry, I lost track of our conversation; starting afresh."})
            return self._outputs(history, ConversationState(catalog=CATALOGS[0]), None)
        if message := self.not_ready(state_obj.catalog):
            history.append({"role": "assistant", "content": message})
            return self._outputs(history, state_obj, None)
        try:
            photo_path, audio_path = check_upload(photo, "photo"), check_upload(audio, "recording")
            if not (text or "").strip() and photo_path is None and audio_path is None:
                return self._outputs(history, state_obj, None)
            reply = self.assistant.turn(state_obj, text or "", image=photo_path, audio=audio_path, progress=progress)
        except KitError as error:
            history.append({"role": "assistant", "content": f"Sorry: {error}"})
            return self._outputs(history, state_obj, None)
        except Exception as error:  # noqa: BLE001 (the app's boundary)
            log.exception("send failed")
            history.append({"role": "assistant", "content": f"Sorry, something went wrong ({type(error).__name__}); "
                                                            "nothing was changed."})
            return self._outputs(history, state_obj, None)
        said = reply.heard if reply.heard is not None else (text or "(photo)")
        history += [{"role": "user", "content": f"🎤 {said}" if audio_path else said},
                    {"role": "assistant", "content": reply.text}]
        return self._outputs(history, reply.state, reply, self.spoken(reply.text) if speak_replies else None)

    def send_streaming(self, text: str, photo: str | None, audio: str | None, history: list | None,
                       state: dict | None, catalog: str, speak_replies: bool = False):
        """:meth:`send` for the browser (a generator): while a turn runs, each step it reports is shown in the
        chat as it happens (a plan's candidate needs within a second, then its draft and steps); the last
        value is :meth:`send`'s."""
        lines: queue.Queue[str] = queue.Queue()
        finished: list = []

        def run() -> None:
            finished.append(self.send(text, photo, audio, history, state, catalog, speak_replies, progress=lines.put))

        worker = threading.Thread(target=run, name="turn", daemon=True)
        worker.start()
        steps: list[str] = []
        while worker.is_alive() or not lines.empty():
            try:
                steps.append(lines.get(timeout=0.05))
            except queue.Empty:
                continue
            said = text or ("🎤" if audio else "(photo)")
            partial = list(history or []) + [{"role": "user", "content": said},
                                             {"role": "assistant", "content": "\n".join(f"… {s}" for s in steps)}]
            yield (partial, *(gr.skip() for _ in range(9)))
        worker.join()
        yield finished[0]

    def quick(self, example: str, history: list | None, state: dict | None, catalog: str, speak_replies: bool = False):
        """A quick button: sends the tool's example utterance as if typed."""
        return self.send(example, None, None, history, state, catalog, speak_replies)

    def quick_streaming(self, example: str, history: list | None, state: dict | None, catalog: str,
                        speak_replies: bool = False):
        """:meth:`quick` for the browser, streamed like :meth:`send_streaming`."""
        yield from self.send_streaming(example, None, None, history, state, catalog, speak_replies)

    def switch_catalog(self, catalog: str):
        """The catalog dropdown (or an API caller naming a catalog): a fresh conversation in that catalog."""
        try:
            if not isinstance(catalog, str):
                raise BadInput(f"a catalog is named by a text, got {type(catalog).__name__}")
            if message := self.not_ready(catalog):
                return self._outputs([{"role": "assistant", "content": message}], ConversationState(catalog=catalog), None)
            if catalog not in self.assistant.searches:
                known = ", ".join(self.assistant.searches)
                raise BadInput(f"Unknown catalog {catalog[:60]!r}; choose one of {known}.")
            return self._outputs([], self.assistant.new_state(catalog), None)
        except KitError as error:
            message = f"Sorry: {error}"
        except Exception as error:  # noqa: BLE001 (the app's boundary)
            log.exception("switch_catalog failed")
            message = f"Sorry, the catalog could not be opened ({type(error).__name__}); nothing was changed."
        state = ConversationState(catalog=CATALOGS[0]) if self._assistant is None else self.assistant.new_state()
        return self._outputs([{"role": "assistant", "content": message}], state, None)

    def generate(self, product: str, wish: str, seed: float, state: dict | None):
        """The Imagery tab: draws ``product`` (found in the catalog) with the shopper's ``wish``."""
        try:
            state_obj = self._state(state, None).model_copy(update={"turns": int(seed or 0)})
            reply = self.assistant.run_tool(state_obj, "imagine", {"query": product or "", "wish": wish or ""})
        except KitError as error:
            return None, f"Sorry: {error}"
        except Exception as error:  # noqa: BLE001 (the app's boundary)
            log.exception("generate failed")
            return None, f"Sorry, the image could not be made ({type(error).__name__})."
        image = reply.generated
        path = image.save(Path(tempfile.mkdtemp(prefix="shopkit-generated-")) / "generated.png")
        return str(path), f"{image.label}. Prompt: {image.prompt}"

    def models(self) -> str:
        try:
            rows = self.assistant.models()
            licenses = {status.name: status.license for status in model_table()}
        except Exception as error:  # noqa: BLE001 (the app's boundary)
            log.exception("models failed")
            return f"The model list is not available ({type(error).__name__})."
        lines = ["| role | model | license |", "|---|---|---|"]
        lines += [f"| {r['role']} | {r['model']} | {licenses.get(r['model'], '')} |" for r in rows]
        lines += [f"| catalog {name} | being prepared: {status} | |" for name, status in self.preparing.items()]
        return "\n".join(lines)

    def spoken(self, text: str) -> str | None:
        """The reply as a WAV file (hibari, or espeak-ng when hibari is missing); None when it cannot be spoken."""
        from kit.speech import speak

        words = " ".join(re.sub(r"[*_>`#|]", " ", text).split())[:400]
        if not any(c.isalnum() for c in words):
            return None
        path = Path(tempfile.mkdtemp(prefix="shopkit-reply-")) / "reply.wav"
        try:
            speak(words, voice=self.voice, out=path)
        except Exception:  # noqa: BLE001 (a reply without sound is still a reply)
            log.exception("could not speak the reply")
            return None
        return str(path)

    # -- rendering -----------------------------------------------------------------------------------
    def _state(self, state: dict | None, catalog: str | None) -> ConversationState:
        """The conversation so far; a new one when there is none or when ``catalog`` names another catalog
        (the dropdown resets the state itself; an API caller switches by naming the catalog)."""
        current = ConversationState.model_validate(state) if state else None
        if current is not None and (catalog is None or current.catalog == catalog):
            return current
        return ConversationState(catalog=catalog) if catalog else self.assistant.new_state()

    def _outputs(self, history: list, state: ConversationState, reply: Reply | None, audio: str | None = None):
        cards = [(c.image, f"{c.title} · {c.reason}" + (f" · {c.score:.3f}" if c.score is not None else ""))
                 for c in (reply.cards if reply else []) if c.image]
        return (history, cards, cards_markdown(reply), plan_markdown(state), basket_rows(state),
                state.model_dump(mode="json"), "", None, None, audio)


def cards_markdown(reply: Reply | None) -> str:
    """Every product shown, with the model that suggested it and why (text-only catalogs have no photos)."""
    if reply is None or not reply.cards:
        return ""
    lines = [f"{i}. **{c.title}** · {c.reason}" + (f" · _{c.source}_" if c.source else "")
             for i, c in enumerate(reply.cards, start=1)]
    return "\n".join(lines)


def plan_markdown(state: ConversationState) -> str:
    if state.plan is None:
        return "_No plan yet: try 'I'm hosting a brunch for four on Sunday'._"
    return state.plan.to_markdown()


def basket_rows(state: ConversationState) -> list[list]:
    return [[line.title, line.quantity, line.reason] for line in state.basket]


def build_demo(app: AssistantApp | None = None) -> gr.Blocks:
    app = app or AssistantApp()
    with gr.Blocks(title="ShopKit assistant") as demo:
        gr.Markdown("# ShopKit assistant\nAsk by text, voice or photo. Products come from the catalog; "
                    "generated images are always labelled.")
        state = gr.State(None)
        with gr.Row():
            catalog = gr.Dropdown(list(CATALOGS), value=CATALOGS[0], label="catalog",
                                  info=" · ".join(f"{n}: {s.description}" for n, s in CATALOG_TABLE.items()))
            speak_replies = gr.Checkbox(label="speak replies", value=False, elem_id="speak")
        with gr.Tab("Shop"):
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="conversation", height=360)
                    text = gr.Textbox(label="your request", placeholder="green apples · brunch for four · "
                                                                        "add the second one", elem_id="request")
                    with gr.Row():
                        # a plain file box: Gradio stores the upload untouched and the kit's own loader checks it
                        # (gr.Image would open it with PIL first, failing on a bomb before the app could explain)
                        photo = gr.File(label="photo", file_types=["image"], type="filepath", height=140,
                                        elem_id="photo")
                        audio = gr.Audio(type="filepath", sources=["microphone", "upload"], label="speak")
                    send = gr.Button("Send", variant="primary", elem_id="send")
                    with gr.Row():
                        quick = [(gr.Button(label, size="sm", elem_id=f"quick-{name}"), gr.State(example))
                                 for name, (label, example) in zip((t.name for t in TOOLS.values() if t.button),
                                                                   QUICK_BUTTONS)]
                    reply_audio = gr.Audio(label="spoken reply", type="filepath", autoplay=True, elem_id="reply-audio")
                with gr.Column(scale=2):
                    cards = gr.Gallery(label="products", columns=3, height=300, elem_id="cards")
                    card_text = gr.Markdown(elem_id="card-text")
                    plan = gr.Markdown(plan_markdown(ConversationState()))
                    basket = gr.Dataframe(headers=["product", "qty", "reason"], label="basket", interactive=False)
        with gr.Tab("Imagery"):
            gr.Markdown("The kit's own small models draw 64-px impressions of a product: fashion items from "
                        "their labels (article type, colour, gender), grocery products from their names. The real "
                        "catalog product is shown beside it in the chat; every image is labelled as generated.")
            product = gr.Textbox(label="product", value="Granny Smith apple")
            wish = gr.Textbox(label="wish", value="", placeholder="on a picnic table")
            seed = gr.Number(label="seed", value=0, precision=0)
            draw = gr.Button("Generate")
            drawn = gr.Image(label="generated image", type="filepath")
            caption = gr.Markdown()
        with gr.Tab("Models"):
            models = gr.Markdown()
            refresh = gr.Button("Show the models in use")

        outputs = [chat, cards, card_text, plan, basket, state, text, photo, audio, reply_audio]
        inputs = [text, photo, audio, chat, state, catalog, speak_replies]
        send.click(app.send_streaming, inputs, outputs, api_name="send")
        text.submit(app.send_streaming, inputs, outputs, api_name="submit")
        for (button, example), tool in zip(quick, (t for t in TOOLS.values() if t.button)):
            button.click(app.quick_streaming, [example, chat, state, catalog, speak_replies], outputs,
                         api_name=f"quick_{tool.name}")
        catalog.change(app.switch_catalog, [catalog], outputs, api_name="switch_catalog")
        draw.click(app.generate, [product, wish, seed, state], [drawn, caption], api_name="generate_image")
        refresh.click(app.models, None, models, api_name="models")
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=64)
    return demo


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"}


def served_paths(catalogs) -> list[str]:
    """The paths Gradio may serve through `/gradio_api/file=`: product photos only.

    A folder that holds nothing but photos (fashion's) is allowed whole; in a folder that also holds other
    files (grocery's descriptions and checksums) only the catalog's own photos are allowed, one by one.
    Gradio checks every path it sends or serves against each blocked path and then each allowed path in
    turn, resolving both, so a short allow-list is also the fast one: blocking grocery's 189 descriptions
    instead cost about 0.45 s per reply with photos (measured, 2 cores).
    """
    photos: dict[Path, list[Path]] = {}
    for catalog in catalogs:
        for item in catalog:
            if item.image is not None:
                photo = item.image.resolve()
                photos.setdefault(photo.parent, []).append(photo)
    folders = [folder for folder in sorted(photos)
               if all(f.suffix.lower() in IMAGE_SUFFIXES for f in folder.iterdir() if f.is_file())]
    files = sorted({photo for folder, own in photos.items() if folder not in folders for photo in own})
    return [str(path) for path in (*folders, *files)]


app = AssistantApp()
demo = build_demo(app)

if __name__ == "__main__":
    import argparse
    import time

    from kit.logs import configure_logging

    options = argparse.ArgumentParser(description="the ShopKit assistant in the browser")
    options.add_argument("-v", "--verbose", action="store_true", help="every library's log lines on the console")
    options.add_argument("--log-file", help="write every log line to this file")
    flags = options.parse_args()
    configure_logging(flags.verbose, flags.log_file)
    from kit.bundled_catalogs import open_catalog
    from kit.cli import ensure_default_encoder

    started = time.perf_counter()
    encoder = ensure_default_encoder()  # shopkit-lit-ft when trained, else shopkit-lit (trained once, minutes)
    catalogs = {name: open_catalog(name) for name in CATALOGS}  # the files only: seconds
    first = CATALOGS[0]
    app = AssistantApp(build_assistant((first,), encoder=encoder, prepare=True))  # serve as soon as the first catalog is ready
    demo = build_demo(app)
    demo.launch(server_name="127.0.0.1", server_port=int(os.environ.get("PORT", 7860)), prevent_thread_lock=True,
                allowed_paths=served_paths(catalogs.values()), max_file_size=f"{MAX_UPLOAD_MB}mb", show_error=True)
    app.send("green apples", None, None, [], None, first)
    print(f"serving {first} after {time.perf_counter() - started:.1f} s on http://127.0.0.1:{os.environ.get('PORT', 7860)}"
          f"; {', '.join(CATALOGS[1:])} and the planner's LLM are being prepared in the background")
    app.prepare_in_background([catalogs[name] for name in CATALOGS[1:]], app.assistant.searches[first].encoder)
    demo.block_thread()
