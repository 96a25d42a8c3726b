"""The ShopKit assistant in the browser (Gradio Blocks).

    python apps/assistant.py            # http://127.0.0.1:7860, offline, over the bundled catalogs
    make demo                           # the same, after setting up

``demo`` is importable (tests drive it directly, with gradio_client and with a real browser); the
assistant behind it is built on the first event or by ``AssistantApp.warm_up``. Every event has an
``api_name``. Uploads are checked (file type, size, image bombs) and only files Gradio itself received
are read; the app serves no folder but the catalog photos.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import gradio as gr

from kit.assistant import Assistant, ConversationState, Reply, build_assistant
from kit.errors import BadInput, KitError
from kit.images import load_image
from kit.registry import model_table

MAX_UPLOAD_MB = 10
CATALOGS = ("grocery_store", "fashion_products")
CONCURRENCY = 2  # two CPU cores: more parallel turns would only queue inside torch


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
        load_image(file)  # refuses non-images and decompression bombs with a clear message
    return file


class AssistantApp:
    """The handlers: plain functions of their inputs, so tests can call them without a browser."""

    def __init__(self, assistant: Assistant | None = None) -> None:
        self._assistant = assistant

    @property
    def assistant(self) -> Assistant:
        if self._assistant is None:
            self._assistant = build_assistant(CATALOGS)
        return self._assistant

    def warm_up(self) -> None:
        self.assistant.warm_up()

    def new_state(self, catalog: str | None = None) -> dict:
        return self.assistant.new_state(catalog).model_dump(mode="json")

    # -- events --------------------------------------------------------------------------------------
    def send(self, text: str, photo: str | None, audio: str | None, history: list | None, state: dict | None,
             catalog: str):
        history = list(history or [])
        state_obj = ConversationState.model_validate(state) if state else self.assistant.new_state(catalog)
        try:
            photo_path, audio_path = check_upload(photo, "photo"), check_upload(audio, "recording")
        except KitError as error:
            history.append({"role": "assistant", "content": f"Sorry: {error}"})
            return self._outputs(history, state_obj, None)
        if not (text or "").strip() and photo_path is None and audio_path is None:
            return self._outputs(history, state_obj, None)
        reply = self.assistant.turn(state_obj, text or "", image=photo_path, audio=audio_path)
        said = reply.heard if reply.heard is not None else (text or "(photo)")
        history += [{"role": "user", "content": f"🎤 {said}" if audio_path else said},
                    {"role": "assistant", "content": reply.text}]
        return self._outputs(history, reply.state, reply)

    def switch_catalog(self, catalog: str):
        if catalog not in self.assistant.searches:
            raise gr.Error(f"unknown catalog {catalog!r}")
        state = self.assistant.new_state(catalog)
        return self._outputs([], state, None)

    def generate(self, product: str, wish: str, seed: float, state: dict | None):
        state_obj = ConversationState.model_validate(state) if state else self.assistant.new_state()
        reply = self.assistant.turn(state_obj.model_copy(update={"turns": int(seed)}),
                                    f"draw {product} {wish}".strip())
        if reply.generated is None:
            return None, reply.text
        image = reply.generated
        path = image.save(Path(tempfile.mkdtemp(prefix="shopkit-generated-")) / "generated.png")
        return str(path), f"{image.label}. Prompt: {image.prompt}"

    def models(self) -> str:
        rows = self.assistant.models()
        licenses = {status.name: status.license for status in model_table()}
        lines = ["| role | model | license |", "|---|---|---|"]
        lines += [f"| {r['role']} | {r['model']} | {licenses.get(r['model'], '')} |" for r in rows]
        return "\n".join(lines)

    # -- rendering -----------------------------------------------------------------------------------
    def _outputs(self, history: list, state: ConversationState, reply: Reply | None):
        cards = [(c.image, f"{c.title} · {c.reason}" + (f" · {c.score:.3f}" if c.score is not None else ""))
                 for c in (reply.cards if reply else []) if c.image]
        return (history, cards, plan_markdown(state), basket_rows(state), state.model_dump(mode="json"),
                "", None, None)


def plan_markdown(state: ConversationState) -> str:
    plan = state.plan
    if plan is None:
        return "_No plan yet: try 'I'm hosting a brunch for four on Sunday'._"
    lines = [f"**{plan.goal}** (model `{plan.model}`)"]
    for i, step in enumerate(plan.steps, start=1):
        lines.append(f"{i}. **{step.title}**")
        lines += [f"   - {g.need.item} × {g.need.quantity}: " + (g.chosen.title if g.chosen else f"_{g.note}_")
                  for g in step.needs]
    lines += [f"> {note}" for note in plan.notes]
    return "\n".join(lines)


def basket_rows(state: ConversationState) -> list[list]:
    return [[line.title, line.quantity, line.reason] for line in state.basket]


def build_demo(app: AssistantApp | None = None) -> gr.Blocks:
    app = app or AssistantApp()
    with gr.Blocks(title="ShopKit assistant") as demo:
        gr.Markdown("# ShopKit assistant\nAsk by text, voice or photo. Products come from the catalog; "
                    "generated images are always labelled.")
        state = gr.State(None)
        with gr.Row():
            catalog = gr.Dropdown(list(CATALOGS), value=CATALOGS[0], label="catalog")
        with gr.Tab("Shop"):
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="conversation", height=360)
                    text = gr.Textbox(label="your request", placeholder="green apples · brunch for four · "
                                                                        "add the second one", elem_id="request")
                    with gr.Row():
                        photo = gr.Image(type="filepath", label="photo", sources=["upload"], height=140,
                                         elem_id="photo")
                        audio = gr.Audio(type="filepath", sources=["microphone", "upload"], label="speak")
                    send = gr.Button("Send", variant="primary", elem_id="send")
                with gr.Column(scale=2):
                    cards = gr.Gallery(label="products", columns=3, height=300, elem_id="cards")
                    plan = gr.Markdown(plan_markdown(ConversationState()))
                    basket = gr.Dataframe(headers=["product", "qty", "reason"], label="basket", interactive=False)
        with gr.Tab("Imagery"):
            gr.Markdown("The kit's own small model draws 64-px impressions of grocery products; every image is "
                        "labelled as generated.")
            product = gr.Textbox(label="product", value="Granny Smith apple")
            wish = gr.Textbox(label="wish", value="")
            seed = gr.Number(label="seed", value=0, precision=0)
            draw = gr.Button("Generate")
            drawn = gr.Image(label="generated image", type="filepath")
            caption = gr.Markdown()
        with gr.Tab("Models"):
            models = gr.Markdown()
            refresh = gr.Button("Show the models in use")

        outputs = [chat, cards, plan, basket, state, text, photo, audio]
        inputs = [text, photo, audio, chat, state, catalog]
        send.click(app.send, inputs, outputs, api_name="send")
        text.submit(app.send, inputs, outputs, api_name="submit")
        catalog.change(app.switch_catalog, [catalog], outputs, api_name="switch_catalog")
        draw.click(app.generate, [product, wish, seed, state], [drawn, caption], api_name="generate_image")
        refresh.click(app.models, None, models, api_name="models")
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=64)
    return demo


def image_folders() -> list[str]:
    """The only folders the app serves: the bundled catalogs' photos."""
    from kit.datasets import resolve_dataset

    folders = []
    for name in ("grocery_store", "fashion_products"):
        try:
            folders.append(str(resolve_dataset(name).path))
        except KitError:
            pass
    return folders


app = AssistantApp()
demo = build_demo(app)

if __name__ == "__main__":
    import time

    started = time.perf_counter()
    app.warm_up()
    print(f"models loaded in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    app.send("green apples", None, None, [], None, CATALOGS[0])
    print(f"first answer in {time.perf_counter() - started:.2f} s; open http://127.0.0.1:{os.environ.get('PORT', 7860)}")
    demo.launch(server_name="127.0.0.1", server_port=int(os.environ.get("PORT", 7860)),
                allowed_paths=image_folders(), max_file_size=f"{MAX_UPLOAD_MB}mb", show_error=True)
