"""The assistant: one turn (text, a photo, or speech) plus the state in, a reply with results out.

``Assistant.turn`` in numbered steps:
1. speech becomes text (whisper); a photo is checked (type, size, image bombs);
2. the router picks a tool (the LLM's structured tool choice when one is configured, rules otherwise);
3. the tool runs against the current catalog: search, plan, steer, complete the basket, add/remove,
   tell about an item, or generate an image;
4. the reply carries text, product cards (always real catalog items), the plan, and the new state.
A failing turn (bad upload, missing model) answers with the reason and leaves the state as it was.
Heavy models (the planner's LLM, whisper, the image generator) load on first use, or in ``warm_up``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from kit.assistant.router import TOOLS_HELP, ToolChoice, route
from kit.assistant.state import ConversationState
from kit.catalog import Item
from kit.errors import BadInput, KitError
from kit.images import ImageInput, load_image
from kit.llm.chat import CallLog, ChatModel
from kit.planning import Planner
from kit.planning.grounding import is_excluded
from kit.search.engine import CatalogSearch


@dataclass
class ProductCard:
    item_id: str
    title: str
    image: str | None
    reason: str
    score: float | None = None


@dataclass
class Reply:
    text: str
    state: ConversationState
    tool: str
    routed_by: str = "rules"
    cards: list[ProductCard] = field(default_factory=list)
    generated: object | None = None  # a kit.imagery.GeneratedImage
    heard: str | None = None  # the transcript, for a spoken turn
    seconds: float = 0.0


class _Lazy:
    """A value made on first use by ``factory`` (per assistant, not global)."""

    def __init__(self, factory: Callable[[], object]) -> None:
        self.factory, self.value = factory, None

    def get(self):
        if self.value is None:
            self.value = self.factory()
        return self.value


class Assistant:
    def __init__(self, searches: dict[str, CatalogSearch], planner_llm: Callable[[], ChatModel],
                 router_llm: ChatModel | None = None, transcriber: Callable[[], object] | None = None,
                 image_generator: Callable[[], object] | None = None, results_per_turn: int = 6) -> None:
        if not searches:
            raise KitError("the assistant needs at least one catalog")
        self.searches = searches
        self.router_llm = router_llm
        self._llm = _Lazy(planner_llm)
        self._transcriber = _Lazy(transcriber or _default_transcriber)
        self._imagery = _Lazy(image_generator or _default_image_generator)
        self._planners: dict[str, Planner] = {}
        self.k = results_per_turn
        self.log = CallLog()

    def warm_up(self) -> None:
        """Load the models a first turn would otherwise wait for."""
        self._llm.get()
        for search in self.searches.values():
            search.text("warm up", k=1)

    def new_state(self, catalog: str | None = None) -> ConversationState:
        return ConversationState(catalog=catalog or next(iter(self.searches)))

    def models(self) -> list[dict[str, str]]:
        """Which models this assistant runs (for the app's panel)."""
        first = next(iter(self.searches.values()))
        rows = [{"role": "item embeddings and search", "model": first.encoder.name},
                {"role": "planning", "model": self._llm.value.name if self._llm.value else "loads on first plan"},
                {"role": "routing", "model": self.router_llm.name if self.router_llm else "rules (no LLM configured)"}]
        return rows

    # -- one turn ------------------------------------------------------------------------------------
    def turn(self, state: ConversationState, text: str = "", image: ImageInput | None = None,
             audio: object | None = None, sample_rate: int | None = None) -> Reply:
        started = time.perf_counter()
        state = state.model_copy(deep=True)  # the caller's state is never changed in place
        try:
            reply = self._turn(state, text or "", image, audio, sample_rate)
        except KitError as error:
            reply = Reply(f"Sorry, I could not do that: {error}", state, "error")
        reply.state.turns += 1
        reply.seconds = time.perf_counter() - started
        return reply

    def _turn(self, state, text, image, audio, sample_rate) -> Reply:
        # 1. speech to text, photo checked
        heard = None
        if audio is not None:
            transcript = self._transcriber.get().transcribe(audio, sample_rate)
            if transcript.is_silent:
                return Reply("I did not hear anything; please try again.", state, "speech", heard="")
            heard = text = transcript.text
        photo = load_image(image) if image is not None else None
        if state.catalog not in self.searches:
            raise BadInput(f"unknown catalog {state.catalog!r}; choose one of {', '.join(self.searches)}")
        # 2. route
        choice, routed_by = route(text, self.router_llm, has_image=photo is not None, has_plan=state.plan is not None,
                                  log=self.log)
        # 3. run the tool
        reply = getattr(self, f"_{choice.tool}")(state, choice, photo)
        reply.routed_by, reply.heard = routed_by, heard
        return reply

    # -- tools ---------------------------------------------------------------------------------------
    def _search(self, state, choice: ToolChoice, photo) -> Reply:
        search = self.searches[state.catalog]
        results = [r for r in search.hybrid(choice.query or "products", k=self.k * 3)
                   if not is_excluded(r.item, state.exclude)][: self.k]
        return self._show(state, "search", f"Here is what I found for '{choice.query}':",
                          [(r.item, f"matches '{choice.query}'", r.score) for r in results])

    def _image_search(self, state, choice, photo) -> Reply:
        if photo is None:
            raise BadInput("upload a photo to search by image")
        results = self.searches[state.catalog].image(photo, k=self.k)
        return self._show(state, "image_search", "These products look like your photo:",
                          [(r.item, "looks like your photo", r.score) for r in results])

    def _plan(self, state, choice, photo) -> Reply:
        planner = self._planner(state.catalog)
        plan = planner.plan(choice.query or "a shopping trip")
        return self._plan_reply(state, plan, "plan")

    def _steer(self, state, choice, photo) -> Reply:
        if state.plan is None:
            return self._search(state, choice, photo)
        plan = self._planner(state.catalog).steer(state.plan, choice.query)
        return self._plan_reply(state, plan, "steer")

    def _plan_reply(self, state, plan, tool) -> Reply:
        state.plan = plan
        state.basket = []
        for entry in plan.basket:
            state.add(entry.item_id, entry.title, entry.reason, entry.quantity)
        catalog = self.searches[state.catalog].catalog
        lines = [f"Plan for {plan.goal}:"] + [f"{i}. {s.title}: " + ", ".join(
            (g.chosen.title if g.chosen else f"{g.need.item} (not in this catalog)") for g in s.needs)
            for i, s in enumerate(plan.steps, start=1)] + [f"Note: {n}" for n in plan.notes[-1:]]
        return self._show(state, tool, "\n".join(lines),
                          [(catalog[e.item_id], e.reason, None) for e in plan.basket])

    def _complete(self, state, choice, photo) -> Reply:
        search = self.searches[state.catalog]
        basket = [line.item_id for line in state.basket] or state.last_results[:1]
        if not basket:
            return self._search(state, choice, photo)
        suggestions = complementary_items(search, basket, self.k)
        names = ", ".join(search.catalog[i].title for i in basket[:3])
        return self._show(state, "complete", f"These go well with {names}:",
                          [(item, f"often fits with {names}", score) for item, score in suggestions])

    def _add(self, state, choice, photo) -> Reply:
        item = self._item_at(state, choice.position)
        state.add(item.id, item.title, "you added it")
        return self._show(state, "add", f"Added {item.title} to your basket ({len(state.basket)} items).", [])

    def _remove(self, state, choice, photo) -> Reply:
        words = set(choice.query.split())
        before = len(state.basket)
        if choice.position is not None and 0 < abs(choice.position) <= len(state.basket):
            del state.basket[choice.position - 1 if choice.position > 0 else -1]
        else:
            state.basket = [line for line in state.basket if not words & set(line.title.lower().split())]
        removed = before - len(state.basket)
        return self._show(state, "remove", f"Removed {removed} item(s); {len(state.basket)} left." if removed else
                          "I found nothing like that in your basket.", [])

    def _basket(self, state, choice, photo) -> Reply:
        if not state.basket:
            return Reply("Your basket is empty.", state, "basket")
        catalog = self.searches[state.catalog].catalog
        return self._show(state, "basket", f"Your basket has {len(state.basket)} items:",
                          [(catalog[line.item_id], line.reason or "in your basket", None) for line in state.basket
                           if line.item_id in catalog], remember=False)

    def _item_info(self, state, choice, photo) -> Reply:
        item = self._item_at(state, choice.position)
        facts = ", ".join(f"{k}: {v}" for k, v in item.attributes.items() if isinstance(v, (str, int)) and v != "")
        text = f"{item.title} ({item.category}). {item.description[:400]}".strip() + (f"\n{facts}" if facts else "")
        return self._show(state, "item_info", text, [(item, "the product you asked about", None)], remember=False)

    def _imagine(self, state, choice, photo) -> Reply:
        from kit.imagery import product_prompt

        import torch

        if choice.position is not None:
            item = self._item_at(state, choice.position)
        else:
            hits = self.searches[state.catalog].hybrid(choice.query or "product", k=1)
            if not hits:
                raise BadInput("tell me which product to draw")
            item = hits[0].item
        generated = self._imagery.get()(product_prompt(item), num_inference_steps=30,
                                        generator=torch.Generator().manual_seed(state.turns))
        reply = self._show(state, "imagine", f"{generated.label}, for {item.title}.", [(item, "the real product", None)],
                           remember=False)
        reply.generated = generated
        return reply

    def _help(self, state, choice, photo) -> Reply:
        return Reply("I can " + "; ".join(TOOLS_HELP.values()) + ". Try 'green apples', 'brunch for four' or "
                     "upload a photo.", state, "help")

    # -- helpers -------------------------------------------------------------------------------------
    def _planner(self, catalog: str) -> Planner:
        if catalog not in self._planners:
            self._planners[catalog] = Planner(self._llm.get(), self.searches[catalog])
            self._planners[catalog].log = self.log
        return self._planners[catalog]

    def _item_at(self, state, position: int | None) -> Item:
        if not state.last_results:
            raise BadInput("I have not shown any products yet; search first")
        position = position or 1
        index = position - 1 if position > 0 else len(state.last_results) + position
        if not 0 <= index < len(state.last_results):
            raise BadInput(f"I showed {len(state.last_results)} products; there is no number {position}")
        return self.searches[state.catalog].catalog[state.last_results[index]]

    def _show(self, state, tool, text, rows: list[tuple[Item, str, float | None]], remember: bool = True) -> Reply:
        cards = [ProductCard(item.id, item.title, str(item.image) if item.image else None, reason,
                             None if score is None else round(float(score), 4)) for item, reason, score in rows]
        if remember and cards:
            state.last_results = [c.item_id for c in cards]
        if not cards and tool in ("search", "image_search", "complete"):
            text = "I found nothing in this catalog for that."
        return Reply(text, state, tool, cards=cards)


def complementary_items(search: CatalogSearch, basket: list[str], k: int) -> list[tuple[Item, float]]:
    """Items close to the basket's centre but of other categories: what goes *with* it, not more of it."""
    catalog = search.catalog
    vectors = search.embeddings.item_vectors(search.item_mode)
    positions = [catalog.ids.index(i) for i in basket if i in catalog]
    centre = vectors[positions].mean(0)
    centre /= np.linalg.norm(centre) + 1e-12
    scores = vectors @ centre
    taken = {catalog[i].category for i in basket if i in catalog} | set(basket)
    out = []
    for p in np.argsort(-scores):
        item = catalog.items[p]
        if item.id not in taken and item.category not in taken:
            out.append((item, float(scores[p])))
            taken.add(item.category)
        if len(out) == k:
            break
    return out


def _default_transcriber():
    from kit.speech import load_transcriber

    return load_transcriber("whisper-tiny.en")


def _default_image_generator():
    from kit.imagery import TextToProductImage

    return TextToProductImage.from_pretrained("shopkit-tiny-diffusion")


def build_assistant(catalogs: tuple[str, ...] = ("grocery_store", "fashion_products"), encoder: str = "shopkit-lit",
                    llm: str | None = None, route_with_llm: bool | None = None) -> Assistant:
    """The assistant over bundled catalogs. Routing uses the LLM only when one is configured ($KIT_LLM or ``llm``)."""
    import os

    from kit.bundled_catalogs import open_catalog
    from kit.clip.encoder import ItemEncoder
    from kit.llm.factory import load_chat_model

    item_encoder = ItemEncoder.from_pretrained(encoder)
    searches = {name: CatalogSearch.build(open_catalog(name), item_encoder) for name in catalogs}
    configured = llm or os.environ.get("KIT_LLM")
    router = load_chat_model(configured) if (route_with_llm if route_with_llm is not None else bool(configured)) else None
    return Assistant(searches, planner_llm=lambda: router or load_chat_model(configured), router_llm=router)


__all__ = ["Assistant", "ProductCard", "Reply", "build_assistant", "complementary_items"]
