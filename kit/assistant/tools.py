"""The assistant's tools, declared once: name, help, argument schema, examples, button, handler.

``TOOLS`` is data that every consumer reads: the rule router and the LLM routing prompt (whose JSON
schema, :class:`ToolChoice`, is built from it), the orchestrator (which runs ``tool.handler``), the
help reply, and the app's quick buttons. Adding a tool is one :class:`Tool` record and its handler.

A handler gets a :class:`TurnContext` (a copy of the state it may change, the catalog's search, the photo,
and the models it may need, each made on first use) and its validated arguments, and returns a
:class:`Reply`. It never sees the assistant: what the tools share (:func:`show`, :func:`items_at`,
:func:`search_catalog`) lives here, over the context. It raises a ``KitError`` subclass for anything the
shopper can fix; the orchestrator turns that into a polite reply that names what would work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Literal

from pydantic import BaseModel, Field, create_model

from kit.assistant.refine import refined_query
from kit.assistant.state import ConversationState
from kit.catalog import Catalog, Item
from kit.errors import BadInput
from kit.planning.grounding import is_excluded

if TYPE_CHECKING:
    from kit.assistant.clarify import Clarifier
    from kit.planning import Planner
    from kit.search.engine import CatalogSearch, SearchResult

MAX_QUERY = 300  # characters of a query a tool reads; longer turns are cut (and the reply says so)


# -- what a reply carries ---------------------------------------------------------------------------
@dataclass
class ProductCard:
    item_id: str
    title: str
    image: str | None
    reason: str  # why this item is shown, from evidence the model really used
    score: float | None = None
    source: str = ""  # which model suggested it (e.g. "lightgcn-copurchase", "hybrid search")


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


@dataclass
class TurnContext:
    """What a tool may use in one turn. The models are factories: a tool that needs none loads none."""

    state: ConversationState  # a copy: handlers change it freely
    search: "CatalogSearch"  # the state's catalog, embedded and indexed
    k: int  # products per reply
    catalogs: tuple[str, ...]  # every catalog the assistant serves (for help)
    planner: Callable[[], "Planner"]
    completer: Callable[[], object]  # the catalog's basket completer (kit/assistant/completion.py)
    clarifier: Callable[[], "Clarifier"]
    draw: Callable[[Item, str, int], object]  # (item, wish, seed) -> a labelled GeneratedImage
    photo: object | None = None  # a PIL image, already checked
    progress: Callable[[str], None] | None = None  # told each visible step of a long tool

    @property
    def catalog(self) -> Catalog:
        return self.search.catalog

    def tell(self, line: str) -> None:
        if self.progress is not None:
            self.progress(line)


# -- argument schemas -------------------------------------------------------------------------------
class NoArgs(BaseModel):
    pass


class QueryArgs(BaseModel):
    query: str = Field(default="", max_length=MAX_QUERY, description="what the shopper asked for, in their words")


class ItemRef(BaseModel):
    """Which shown product(s): ``position`` 1 = the first shown, -1 = the last, -2 = the one before last."""

    position: int | None = Field(default=None, ge=-1000, le=1000, description="1 = first shown, -1 = last shown")
    every: bool = Field(default=False, description="all the products shown last")


class RemoveArgs(ItemRef):
    query: str = Field(default="", max_length=MAX_QUERY, description="words of the basket line to remove")


class ImagineArgs(ItemRef):
    query: str = Field(default="", max_length=MAX_QUERY, description="the product to draw, if not a shown one")
    wish: str = Field(default="", max_length=MAX_QUERY, description="the scene or style the shopper wants")


@dataclass(frozen=True)
class Tool:
    name: str
    help: str  # one line, read by the help reply and the LLM routing prompt
    args: type[BaseModel]
    handler: Callable[[TurnContext, BaseModel], Reply]
    examples: tuple[str, ...] = ()  # utterances that pick this tool (help reply, prompt examples, tests)
    button: str | None = None  # a quick button in the app sends ``examples[0]``
    needs_results: bool = False  # refers to products shown last


# -- what the handlers share -----------------------------------------------------------------------
Row = tuple[Item, str, "float | None", str]  # item, why it is shown, score, which model suggested it


def show(ctx: TurnContext, tool: str, text: str, rows: list[Row], remember: bool = True) -> Reply:
    """A reply with product cards; ``remember``: these become the products "the second one" refers to."""
    state = ctx.state
    cards = [ProductCard(item.id, item.title, str(item.image) if item.image else None, reason,
                         None if score is None else round(float(score), 4), source)
             for item, reason, score, source in rows]
    if remember and cards:
        state.last_results = [c.item_id for c in cards]
    if not cards and tool in ("search", "image_search", "complete"):
        text = "I found nothing in this catalog for that. Try other words, or 'help'."
    return Reply(text, state, tool, cards=cards)


def search_catalog(ctx: TurnContext, query: str, k: int | None = None) -> list["SearchResult"]:
    """Hybrid search, without what the shopper excluded ("no dairy")."""
    k = k or ctx.k
    return [r for r in ctx.search.hybrid(query, k=k * 3) if not is_excluded(r.item, ctx.state.exclude)][:k]


def items_at(ctx: TurnContext, ref: "ItemRef") -> list[Item]:
    """The shown products a reference names: one position, or all of them."""
    state, catalog = ctx.state, ctx.catalog
    if not state.last_results:
        raise BadInput("I have not shown any products yet; search first, e.g. 'green apples'")
    if ref.every:
        return [catalog[i] for i in state.last_results]
    index = resolve_position(1 if ref.position is None else ref.position, len(state.last_results))
    return [catalog[state.last_results[index]]]


# -- handlers ---------------------------------------------------------------------------------------
def search(ctx: TurnContext, args: QueryArgs) -> Reply:
    query = refined_query(ctx.state.last_query, args.query, ctx.search)[:MAX_QUERY]  # "in black" narrows the last search
    question = ctx.clarifier().question(query)
    if question:
        return Reply(question, ctx.state, "clarify")
    ctx.state.last_query = query
    return show(ctx, "search", f"Here is what I found for '{query}':",
                [(r.item, r.why or f"matches '{query}'", r.score, "hybrid search (BM25 + shopkit embeddings)")
                 for r in search_catalog(ctx, query)])


def image_search(ctx: TurnContext, args: QueryArgs) -> Reply:
    if ctx.photo is None:
        raise BadInput("upload a photo to search by image (the photo box under the request)")
    results = ctx.search.image(ctx.photo, k=ctx.k)
    return show(ctx, "image_search", "These products look like your photo:",
                [(r.item, r.why or "looks like your photo", r.score, "image embeddings") for r in results])


def plan(ctx: TurnContext, args: QueryArgs) -> Reply:
    goal = args.query.strip() or "a shopping trip"
    for progress in ctx.planner().stream(goal):
        ctx.tell(progress.message)
    return _plan_reply(ctx, progress.plan, "plan")


def steer(ctx: TurnContext, args: QueryArgs) -> Reply:
    if ctx.state.plan is None:
        return search(ctx, args)
    return _plan_reply(ctx, ctx.planner().steer(ctx.state.plan, args.query), "steer")


def _plan_reply(ctx: TurnContext, new_plan, tool: str) -> Reply:
    state = ctx.state
    state.plan, state.basket = new_plan, []
    for entry in new_plan.basket:
        state.add(entry.item_id, entry.title, entry.reason, entry.quantity)
    return show(ctx, tool, new_plan.to_markdown(),
                [(ctx.catalog[e.item_id], e.reason, None, f"plan ({new_plan.model})") for e in new_plan.basket])


def complete(ctx: TurnContext, args: QueryArgs) -> Reply:
    state, catalog = ctx.state, ctx.catalog
    basket = [line.item_id for line in state.basket] or state.last_results[:1]
    if not basket:
        raise BadInput("there is nothing to complete yet: search for a product or add one to your basket first")
    suggestions = ctx.completer().complete(basket, ctx.k)
    names = ", ".join(catalog[i].title for i in basket[:3] if i in catalog)
    return show(ctx, "complete", f"These go well with {names}:",
                [(catalog[s.item_id], s.reason, s.score, s.source) for s in suggestions])


def add(ctx: TurnContext, args: ItemRef) -> Reply:
    items = items_at(ctx, args)
    for item in items:
        ctx.state.add(item.id, item.title, "you added it")
    names = items[0].title if len(items) == 1 else f"{len(items)} products"
    return show(ctx, "add", f"Added {names} to your basket ({len(ctx.state.basket)} items).", [])


def remove(ctx: TurnContext, args: RemoveArgs) -> Reply:
    state = ctx.state
    before = len(state.basket)
    if args.every:
        state.basket = []
    elif args.position is not None:
        if not state.basket:
            raise BadInput("your basket is empty; there is nothing to remove")
        index = resolve_position(args.position, len(state.basket), "lines in your basket")
        del state.basket[index]
    else:
        words = set(args.query.lower().split())
        state.basket = [line for line in state.basket if not words & set(line.title.lower().split())]
    removed = before - len(state.basket)
    text = (f"Removed {removed} item(s); {len(state.basket)} left." if removed else
            "I found nothing like that in your basket; say 'show my basket' to see what is in it.")
    return show(ctx, "remove", text, [])


def basket(ctx: TurnContext, args: NoArgs) -> Reply:
    state, catalog = ctx.state, ctx.catalog
    if not state.basket:
        return Reply("Your basket is empty. Search for something and say 'add the first one'.", state, "basket")
    return show(ctx, "basket", f"Your basket has {len(state.basket)} items:",
                [(catalog[line.item_id], line.reason or "in your basket", None, "your basket")
                 for line in state.basket if line.item_id in catalog], remember=False)


def item_info(ctx: TurnContext, args: ItemRef) -> Reply:
    items = items_at(ctx, args)
    lines = [describe(item) for item in items[:3]]
    return show(ctx, "item_info", "\n\n".join(lines),
                [(item, "the product you asked about", None, "") for item in items[:3]], remember=False)


def describe(item: Item) -> str:
    facts = ", ".join(f"{k}: {v}" for k, v in item.attributes.items() if isinstance(v, (str, int)) and v != "")
    text = f"{item.title}" + (f" ({item.category})" if item.category else "") + f". {item.description[:400]}"
    return text.strip() + (f"\n{facts}" if facts else "")


def imagine(ctx: TurnContext, args: ImagineArgs) -> Reply:
    if args.position is not None or args.every:
        item = items_at(ctx, args)[0]
    else:
        if not args.query.strip():
            raise BadInput("tell me which product to draw, e.g. 'draw a lemon on a picnic table'")
        hits = search_catalog(ctx, args.query, k=1)
        if not hits:
            raise BadInput(f"I found no product like '{args.query}' to draw in this catalog")
        item = hits[0].item
    generated = ctx.draw(item, args.wish or args.query, ctx.state.turns)
    reply = show(ctx, "imagine", f"{generated.label}, for {item.title}. Prompt: {generated.prompt}",
                 [(item, "the real product", None, "catalog")], remember=False)
    reply.generated = generated
    return reply


def help_reply(ctx: TurnContext, args: NoArgs) -> Reply:
    lines = [f"- {tool.help}: '{tool.examples[0]}'" for tool in TOOLS.values() if tool.examples and tool.name != "help"]
    return Reply("I can:\n" + "\n".join(lines) + f"\nCatalogs: {', '.join(ctx.catalogs)}. You can also upload a photo "
                 "or speak.", ctx.state, "help")


# -- the table --------------------------------------------------------------------------------------
TOOLS: dict[str, Tool] = {tool.name: tool for tool in (
    Tool("search", "find products for a description", QueryArgs, search, ("green apples", "red sneakers for running")),
    Tool("image_search", "find the product in an uploaded photo", QueryArgs, image_search, ("(upload a photo)",)),
    Tool("plan", "plan a goal such as a brunch or a trip and fill a basket", QueryArgs, plan,
         ("I'm hosting a brunch for four", "we are hosting a dinner for six"), button="Plan a brunch"),
    Tool("steer", "change the current plan (cheaper, no dairy, add dessert)", QueryArgs, steer, ("no dairy",)),
    Tool("complete", "suggest what goes with the basket", QueryArgs, complete, ("what goes well with it?",),
         button="What goes with it?"),
    Tool("add", "put a shown product in the basket", ItemRef, add, ("add the second one", "add the last one", "the 2nd one",
                                                                     "add all of them"),
         needs_results=True),
    Tool("remove", "take a product out of the basket", RemoveArgs, remove, ("remove the milk from my basket",)),
    Tool("basket", "show the basket", NoArgs, basket, ("show my basket",), button="Show my basket"),
    Tool("item_info", "tell more about a shown product", ItemRef, item_info, ("tell me about the first one",),
         needs_results=True),
    Tool("imagine", "generate an image of a product (always labelled as generated)", ImagineArgs, imagine,
         ("draw a lemon on a picnic table",)),
    Tool("help", "say what the assistant can do", NoArgs, help_reply, ("help",), button="Help"),
)}


def _choice_fields() -> dict:
    """Every argument field of every tool, once: the flat JSON object the LLM fills in."""
    fields: dict = {}
    for tool in TOOLS.values():
        for name, info in tool.args.model_fields.items():
            fields.setdefault(name, (info.annotation, info))
    return fields


ToolName = Literal[tuple(TOOLS)]  # type: ignore[valid-type]
ToolChoice = create_model("ToolChoice", __doc__="The router's answer: a tool from TOOLS and its arguments.",
                          tool=(ToolName, ...), **_choice_fields())


def arguments(choice: BaseModel) -> BaseModel:
    """The chosen tool's own argument record, validated from the choice's fields."""
    tool = TOOLS[choice.tool]
    return tool.args.model_validate(choice.model_dump(include=set(tool.args.model_fields)))


def resolve_position(position: int, count: int, what: str = "products shown") -> int:
    """0-based index of a 1-based (or negative, from the end) position among ``count`` things."""
    if count == 0:
        raise BadInput(f"there are no {what} yet")
    if position == 0:
        raise BadInput(f"positions start at 1: say 'the first one' up to 'the last one' (there are {count} {what})")
    index = position - 1 if position > 0 else count + position
    if not 0 <= index < count:
        raise BadInput(f"there are {count} {what}, so there is no number {position}; "
                       f"say a number from 1 to {count}, or 'the last one'")
    return index


__all__ = ["ImagineArgs", "ItemRef", "NoArgs", "ProductCard", "QueryArgs", "RemoveArgs", "Reply", "TOOLS", "Tool",
           "ToolChoice", "TurnContext", "arguments", "items_at", "resolve_position", "search_catalog", "show"]
