"""Test setup: offline by construction, a per-checkout KIT_HOME, and shared (session) fixtures.

Network is blocked by pytest-socket (loopback allowed, see pyproject's addopts) and hub downloads are
switched off, so an accidental download fails loudly instead of hanging.

`make test` runs two pytest-xdist workers, one per core (``--dist loadgroup``): a module whose tests share a
module-scoped set-up marks itself ``xdist_group`` and runs on one worker; every other test is scheduled on its
own. The workers share one test KIT_HOME: what a session fixture builds there is built by the first worker
that needs it while the other waits (:func:`one_worker_builds`), then read by both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("KIT_HOME", str(ROOT / ".kit_home" / "test"))
os.environ["KIT_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if os.environ.get("PYTEST_XDIST_WORKER"):  # two workers on two cores: one compute thread each (notebook kernels too)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")


def pytest_collection_modifyitems(config, items):
    """Under the workers, the units holding a slow test go first, so no worker is left with one at the end."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return

    def unit(item) -> str:
        group = item.get_closest_marker("xdist_group")
        return group.args[0] if group else item.nodeid

    slow = {unit(item) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: unit(item) not in slow)  # stable: a unit's tests keep their order


@contextmanager
def one_worker_builds(name: str) -> Iterator[None]:
    """While one test worker builds a shared cache in the test KIT_HOME, the other waits, then reads it.

    The shared fixtures are the first thing both workers need (the app's and the assistant's set-ups start
    the run), so the other worker is waiting, not computing: the builder uses every core while it holds the
    lock, instead of the one it is given for the rest of the run.
    """
    import torch

    from kit.config import kit_home
    from kit.files import building

    with building(kit_home() / "test-fixtures" / name):
        threads = torch.get_num_threads()
        torch.set_num_threads(os.cpu_count() or threads)
        try:
            yield
        finally:
            torch.set_num_threads(threads)


@pytest.fixture()
def kit_cli(capsys):
    """``kit_cli(*args)`` runs ``python -m kit ARGS`` in this process and returns its exit code, stdout and stderr
    as a ``CompletedProcess``: the same ``main`` without a fresh interpreter importing torch and loading the
    models again (6-9 s a call). tests/test_cli.py starts the real program once."""
    from subprocess import CompletedProcess

    from kit.cli import main

    def run(*args) -> CompletedProcess:
        capsys.readouterr()  # what the test printed before is not the command's
        try:
            code = main([str(arg) for arg in args])
        except SystemExit as exit_:  # argparse's refusals exit, as they do in the program
            code = exit_.code
        out = capsys.readouterr()
        return CompletedProcess(list(args), code, out.out, out.err)

    return run


@pytest.fixture(scope="session")
def minilm():
    from kit.clip.towers import load_text_encoder

    return load_text_encoder("minilm")


@pytest.fixture(scope="session")
def grocery():
    from kit.bundled_catalogs import open_catalog

    return open_catalog("grocery_store")


@pytest.fixture(scope="session")
def fashion():
    from kit.bundled_catalogs import open_catalog

    return open_catalog("fashion_products")


@pytest.fixture(scope="session")
def whisper():
    from kit.speech import WhisperTranscriber

    return WhisperTranscriber.from_registry()  # the registry's default speech model


@pytest.fixture()
def espeak_clip(tmp_path):
    """A real speech clip made with espeak-ng (a Debian package the setup installs)."""
    import shutil
    import subprocess

    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: `make test` installs it; run `apt-get install espeak-ng`")

    def make(text: str, words_per_minute: int = 175) -> Path:
        path = tmp_path / f"clip{abs(hash(text))}.wav"
        subprocess.run(["espeak-ng", "-s", str(words_per_minute), "-w", str(path), text], check=True)
        return path

    return make


@pytest.fixture(scope="session")
def lit_encoder():
    """shopkit-lit trained once per KIT_HOME on a small, fast configuration, then loaded by name.

    Grocery (all train photos) plus the first 600 fashion train items, 15 epochs: the same code path as
    the full model, minutes on 2 cores the first time and a cache hit afterwards.
    """
    from kit.clip.encoder import ItemEncoder
    from kit.clip.lit import LitConfig, train_lit
    from kit.clip.model_card import write_model_card
    from kit.registry import REGISTRY

    with one_worker_builds("shopkit-lit"):
        if not REGISTRY.status("shopkit-lit").available:
            folder, _, _ = train_lit(config=LitConfig(epochs=15, max_items=600))
            write_model_card(folder)
    return ItemEncoder.from_pretrained("shopkit-lit", device="cpu")


@pytest.fixture(scope="session")
def grocery_search(grocery, lit_encoder):
    from kit.search import CatalogSearch

    with one_worker_builds("grocery-search"):
        return CatalogSearch.build(grocery, lit_encoder)


# The fashion catalog's test-size slice: every one of its 75 article types, 1,500 of its 9,583 items. Embedding
# the whole catalog's photos is the suite's largest first-use cost (about 2-3 minutes on 2 cores); the slice
# runs the same code in a sixth of it, and full-size quality stays with `make bench`.
FASHION_TEST_ITEMS = 1_500


@pytest.fixture(scope="session")
def fashion_slice(fashion):
    return fashion.sample(FASHION_TEST_ITEMS)


@pytest.fixture(scope="session")
def fashion_search(fashion_slice, lit_encoder):
    from kit.search import CatalogSearch

    with one_worker_builds("fashion-search"):
        return CatalogSearch.build(fashion_slice, lit_encoder)


@pytest.fixture(scope="session")
def youshu():
    from kit.bundles.data import load_bundles

    return load_bundles("youshu")


@pytest.fixture(scope="session")
def crosscbr_short(youshu):
    """CrossCBR trained for 6 epochs (about 1 minute): enough to pass popularity on the tune split (3 epochs are
    not: 0.188 against 0.202); the full run is the benchmark's job."""
    from kit.bundles.train import BundleTrainConfig, train_bundle_model

    return train_bundle_model(youshu, BundleTrainConfig(model="crosscbr", epochs=6, eval_every=3), progress=False)


@pytest.fixture(scope="session")
def smollm():
    """The embedded default chat model (SmolLM2-135M GGUF), loaded once (about 20 s the first time in a test home,
    a few seconds after that: kit/llm/local.py keeps the de-quantized copy)."""
    from kit.llm.local import LocalChatModel

    return LocalChatModel.from_registry("smollm2-135m-instruct")


@pytest.fixture()
def chat_server():
    """A real HTTP server on loopback speaking the OpenAI chat-completions format, with scripted replies.

    It stands in for a remote LLM API (Ollama, vLLM, a hosted service): ``server.replies`` is the
    queue of assistant texts (or ``(status, body)`` pairs for errors); ``server.requests`` records
    each request body and its headers.
    """
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class State:
        replies: list = []
        requests: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the stdlib's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            State.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
            reply = State.replies.pop(0) if State.replies else (500, "no scripted reply left")
            status, payload = reply if isinstance(reply, tuple) else (200, {
                "id": "test", "object": "chat.completion", "model": body.get("model"),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": reply}}]})
            data = (json.dumps(payload) if not isinstance(payload, str) else payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    State.replies, State.requests = [], []
    State.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield State
    server.shutdown()
    server.server_close()
