"""The assistant: one turn (text, a photo, or speech) plus the state in, a reply with results out.

``Assistant.turn`` in numbered steps:
1. speech becomes text (whisper); a photo is checked (type, size, image bombs); the text is cleaned;
2. the router picks a tool from the table in kit/assistant/tools.py (the LLM's structured tool choice
   when one is configured, rules otherwise) and its arguments are validated against the tool's schema;
3. the tool's handler runs against the current catalog;
4. the reply carries text, product cards (always real catalog items, each with the model that
   suggested it and why), the plan, and the new state.

``turn`` is the error boundary: whatever a tool, the router or a model raises, the shopper gets a
polite reply that says what would work, the state stays as it was, and the traceback goes to the log.
Heavy models (the planner's LLM, whisper, the image generator, the co-purchase graph) load on first
use, or in ``warm_up``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from pydantic import BaseModel

from kit.assistant.clarify import Clarifier
from kit.assistant.completion import EmbeddingCompletion, GraphCompletion
from kit.assistant.router import MAX_QUERY, clean_text, route
from kit.assistant.state import ConversationState
from kit.assistant.tools import TOOLS, ProductCard, Reply, TurnContext, arguments
from kit.catalog import Catalog, Item
from kit.errors import BadInput, KitError
from kit.images import ImageInput, load_image
from kit.llm.chat import CallLog, ChatModel
from kit.planning import NeedsMode, Planner
from kit.search.engine import CatalogSearch
from kit.speech import CatalogBias, CatalogVocabulary

log = logging.getLogger(__name__)

class _Lazy:
    """A value made on first use by ``factory`` (per assistant, not global); safe to warm from another thread."""

    def __init__(self, factory: Callable[[], object]) -> None:
        self.factory, self.value = factory, None
        self._lock = threading.Lock()

    def get(self):
        with self._lock:
            if self.value is None:
                self.value = self.factory()
            return self.value


class Assistant:
    def __init__(self, searches: dict[str, CatalogSearch], planner_llm: Callable[[], ChatModel],
                 router_llm: ChatModel | None = None, transcriber: Callable[[], object] | None = None,
                 image_generator: Callable[[], object] | None = None, product_drawer: Callable[[], object] | None = None,
                 results_per_turn: int = 6,
                 completions: dict[str, Callable[[], object]] | None = None, min_dense_match: float = 0.5,
                 planner_needs: NeedsMode = "catalog") -> None:
        """``completions``: per catalog, a factory of its basket completer (default: the graph model for
        catalogs with purchase sequences, content embeddings for the others). ``min_dense_match``: below
        this similarity, with no query word in the catalog, a search asks a question instead of guessing.
        ``planner_needs``: where plans take their needs from (kit/planning/planner.py)."""
        if not searches:
            raise KitError("the assistant needs at least one catalog")
        self.searches = searches
        self.router_llm = router_llm
        self._llm = _Lazy(planner_llm)
        self._transcriber = _Lazy(transcriber or _default_transcriber)
        self._imagery = _Lazy(image_generator or _default_image_generator)
        self._products = _Lazy(product_drawer or _default_product_drawer)  # False when none is trained
        factories = {name: (lambda name=name: default_completion(self.searches[name])) for name in searches}
        self._completions = {name: _Lazy(f) for name, f in {**factories, **(completions or {})}.items()}
        self._planners: dict[str, Planner] = {}
        self.planner_needs = planner_needs
        self._clarifiers: dict[str, Clarifier] = {}
        self._vocabularies: dict[str, CatalogVocabulary] = {}  # per catalog, for speech
        self.k = results_per_turn
        self.min_dense_match = min_dense_match
        self.log = CallLog()

    def add_catalog(self, name: str, search: CatalogSearch,
                    completion: Callable[[], object] | None = None) -> None:
        """Serve one more catalog (the app adds the slower ones once they are embedded, while it already runs)."""
        self._completions[name] = _Lazy(completion or (lambda: default_completion(search)))
        self.searches[name] = search  # last: a turn sees the catalog only when everything for it is in place

    def warm_up(self) -> None:
        """Load the models a first turn would otherwise wait for (the planner's LLM: about 20 s on 2 cores)."""
        with _phase("planner LLM"):
            self._llm.get()
        for name, search in self.searches.items():
            search.text("warm up", k=1)
            self.speech_vocabulary(name)
            if self.planner_needs != "free":
                with _phase(f"planner vocabulary of {name}"):
                    self.planner(name).vocabulary  # the catalog's category texts embedded once (cached on disk)

    def speech_vocabulary(self, catalog: str) -> CatalogVocabulary:
        """The catalog's words for whisper (built once per catalog)."""
        if catalog not in self._vocabularies:
            self._vocabularies[catalog] = CatalogVocabulary.from_catalog(self.searches[catalog].catalog)
        return self._vocabularies[catalog]

    def speech_bias(self, state: ConversationState) -> CatalogBias:
        """How whisper leans on the catalog's words: those of the items on screen and in the basket first."""
        catalog = self.searches[state.catalog].catalog
        shown = [catalog[i].title for i in state.last_results if i in catalog] + [line.title for line in state.basket]
        return CatalogBias(self.speech_vocabulary(state.catalog), context=" ".join(shown))

    def new_state(self, catalog: str | None = None) -> ConversationState:
        return ConversationState(catalog=catalog or next(iter(self.searches)))

    def models(self) -> list[dict[str, str]]:
        """Which models this assistant runs (for the app's panel)."""
        first = next(iter(self.searches.values()))
        rows = [{"role": "item embeddings and search", "model": first.encoder.name},
                {"role": "planning", "model": self._llm.value.name if self._llm.value else "loads on first plan"},
                {"role": "routing", "model": self.router_llm.name if self.router_llm else "rules (no LLM configured)"}]
        rows += [{"role": f"basket completion ({name})",
                  "model": getattr(lazy.value, "source", "loads on first use") if lazy.value else "loads on first use"}
                 for name, lazy in self._completions.items()]
        return rows

    # -- one turn (the error boundary) ---------------------------------------------------------------
    def turn(self, state: ConversationState, text: str = "", image: ImageInput | None = None,
             audio: object | None = None, sample_rate: int | None = None,
             progress: Callable[[str], None] | None = None) -> Reply:
        """Answer one turn. Never raises: a problem becomes a polite reply and the state is kept.

        ``progress`` is called with a line for each visible step of a long tool (a plan's needs, draft and
        steps), so a UI can show them before the reply is ready."""
        started = time.perf_counter()
        state = state.model_copy(deep=True)  # the caller's state is never changed in place
        try:
            reply = self._turn(state.model_copy(deep=True), text, image, audio, sample_rate, progress)
        except KitError as error:
            reply = Reply(f"Sorry, I could not do that: {error}", state, "error")
        except Exception as error:  # noqa: BLE001 (the boundary: anything else is our bug, logged in full)
            log.exception("turn failed on %r", str(text)[:200])
            reply = Reply(f"Sorry, something went wrong on my side ({type(error).__name__}); nothing was changed. "
                          "Try rephrasing, or type 'help' to see what I can do.", state, "error")
        reply.state.turns += 1
        reply.seconds = time.perf_counter() - started
        return reply

    def _turn(self, state, text, image, audio, sample_rate, progress=None) -> Reply:
        # 1. speech to text, photo checked, text cleaned
        heard = None
        if state.catalog not in self.searches:
            raise BadInput(f"unknown catalog {state.catalog!r}; choose one of {', '.join(self.searches)}")
        if audio is not None:
            transcript = self._transcriber.get().transcribe(audio, sample_rate, bias=self.speech_bias(state))
            if transcript.is_silent:
                return Reply("I did not hear anything; please try again.", state, "speech", heard="")
            heard = text = transcript.text
            if progress is not None:  # the transcript is shown while the turn goes on
                progress(f"I heard: “{heard}”")
        photo = load_image(image) if image is not None else None
        raw = text if isinstance(text, str) else ""
        text = clean_text(raw)
        # 2. route, then validate the chosen tool's arguments; a query longer than a tool reads is cut here
        choice, routed_by = route(text, self.router_llm, has_image=photo is not None, has_plan=state.plan is not None,
                                  log=self.log)
        cut = len(text) > MAX_QUERY and "query" in TOOLS[choice.tool].args.model_fields and bool(choice.query)
        # 3. run the tool
        reply = self.run_tool(state, choice.tool, arguments(choice), photo, progress)
        if cut:
            reply.text += f"\n(I read only the first {MAX_QUERY} characters of your message.)"
        reply.routed_by, reply.heard = routed_by, heard
        return reply

    def run_tool(self, state: ConversationState, tool: str, args: BaseModel | dict | None = None,
                 photo: object | None = None, progress: Callable[[str], None] | None = None) -> Reply:
        """Run one tool of the table directly (the app's buttons and the Imagery tab call this)."""
        if tool not in TOOLS:
            raise BadInput(f"unknown tool {tool!r}; tools: {', '.join(TOOLS)}")
        spec = TOOLS[tool]
        if not isinstance(args, spec.args):
            args = spec.args.model_validate(args or {})
        return spec.handler(self.context(state, photo, progress), args)

    # -- what the tools get --------------------------------------------------------------------------
    def context(self, state: ConversationState, photo: object | None = None,
                progress: Callable[[str], None] | None = None) -> TurnContext:
        """The state's catalog and the models a tool may need (each loaded on first use), never the assistant."""
        name = state.catalog
        return TurnContext(state, self.searches[name], self.k, tuple(self.searches),
                           planner=lambda: self.planner(name), completer=lambda: self.completer(name),
                           clarifier=lambda: self.clarifier(name), draw=self.draw, photo=photo, progress=progress)

    def clarifier(self, catalog: str) -> Clarifier:
        """Asks back when a search request is too vague to answer well (kit/assistant/clarify.py)."""
        if catalog not in self._clarifiers:
            self._clarifiers[catalog] = Clarifier(self.searches[catalog], self.min_dense_match)
        return self._clarifiers[catalog]

    def planner(self, catalog: str) -> Planner:
        if catalog not in self._planners:
            self._planners[catalog] = Planner(self._llm.get(), self.searches[catalog], needs=self.planner_needs)
            self._planners[catalog].log = self.log
        return self._planners[catalog]

    def completer(self, catalog: str):
        return self._completions[catalog].get()

    def draw(self, item: Item, wish: str, seed: int):
        """A labelled generated image of ``item``: from its labels by the label-conditioned model when one is
        trained and knows the item's article type, else from its text by the text-conditioned model."""
        from kit.imagery import product_prompt

        import torch

        generator = torch.Generator().manual_seed(seed)
        drawer = self._products.get() if item.attributes.get("articleType") else False
        labels = drawer.labels_of(item) if drawer else {}
        if labels:
            return drawer(labels, generator=generator).images[0]
        return self._imagery.get()(product_prompt(item, wish), num_inference_steps=30, generator=generator)


def default_completion(search: CatalogSearch):
    """The graph model for a catalog with purchase sequences (trained once, cached), else content embeddings."""
    from kit.bundled_catalogs import CATALOG_TABLE

    spec = CATALOG_TABLE.get(search.catalog.name)
    fallback = EmbeddingCompletion(search, complements=spec.complements if spec is not None else None)
    if spec is None or spec.sequences is None:
        return fallback
    from kit.bundles.copurchase import trained_completer
    from kit.config import models_dir

    model = trained_completer(spec.sequences(), models_dir() / "copurchase" / f"{spec.name}-lightgcn.safetensors")
    return GraphCompletion(model, search.catalog, fallback)


def _default_transcriber():
    from kit.speech import load_transcriber

    return load_transcriber()  # the registry's default speech model


def _default_image_generator():
    from kit.imagery import TextToProductImage

    return TextToProductImage.from_pretrained("shopkit-tiny-diffusion")


def _default_product_drawer():
    from kit.errors import ModelNotAvailable
    from kit.imagery.products import ProductsFromLabels

    try:
        return ProductsFromLabels.from_pretrained()
    except ModelNotAvailable:
        return False


def build_assistant(catalogs: tuple[str, ...] | None = None, encoder: str | None = None,
                    llm: str | None = None, route_with_llm: bool | None = None, prepare: bool = False,
                    max_items: int | None = None) -> Assistant:
    """The assistant over bundled catalogs (default: all of them) or catalog files, with one log line per phase.

    ``encoder``: an image-text model name; by default the registry's (kit/registry.py ``available_default``).
    Routing uses the LLM only when one is configured ($KIT_LLM or ``llm``). ``prepare=True`` also builds
    what the first turns would otherwise wait for: each catalog's basket completer (the co-purchase graph
    is trained once and cached). The planner's LLM loads on the first plan, or in ``warm_up`` (the app
    calls it in the background once it serves). ``max_items``: each catalog that can be sliced keeps at most
    that many items, every category kept (a quick demo on a slow laptop; :func:`kit.bundled_catalogs.open_catalog`).
    """
    import os

    from kit.bundled_catalogs import CATALOGS
    from kit.clip.encoder import ItemEncoder
    from kit.llm.factory import load_chat_model

    with _phase(f"item encoder {encoder or 'default'}"):
        item_encoder = ItemEncoder.from_pretrained(encoder)
    searches = {name: catalog_search(name, item_encoder, max_items) for name in catalogs or CATALOGS}
    configured = llm or os.environ.get("KIT_LLM")
    router = load_chat_model(configured) if (route_with_llm if route_with_llm is not None else bool(configured)) else None
    helper = Assistant({s.catalog.name: s for s in searches.values()},
                       planner_llm=lambda: router or load_chat_model(configured), router_llm=router)
    if prepare:
        for name in helper.searches:
            prepare_completion(helper, name)
    return helper


def catalog_search(catalog, encoder, max_items: int | None = None) -> CatalogSearch:
    """A catalog (a bundled name, a file path or a loaded ``Catalog``) embedded and indexed, logged as a phase;
    a name or path is opened with at most ``max_items`` items when given."""
    from kit.bundled_catalogs import open_catalog

    with _phase(f"catalog {getattr(catalog, 'name', catalog)}") as note:
        catalog = catalog if isinstance(catalog, Catalog) else open_catalog(catalog, max_items=max_items)
        search = CatalogSearch.build(catalog, encoder)
        note(f"{len(catalog)} items")
    return search


def prepare_completion(helper: Assistant, name: str) -> None:
    with _phase(f"basket completion for {name}") as note:
        note(helper.completer(name).source)


class _phase:
    """Logs 'NAME ready in S s (NOTE)' when the block ends: the one line per phase a quiet console shows."""

    def __init__(self, name: str) -> None:
        self.name, self.notes = name, []

    def __enter__(self):
        self.started = time.perf_counter()
        return self.notes.append

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            extra = f" ({'; '.join(self.notes)})" if self.notes else ""
            log.info("%s ready in %.1f s%s", self.name, time.perf_counter() - self.started, extra)


__all__ = ["Assistant", "ProductCard", "Reply", "build_assistant", "catalog_search", "default_completion",
           "prepare_completion"]
