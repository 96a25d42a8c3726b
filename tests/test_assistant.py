"""The assistant's turns, called directly: the tool table, routing, references, state across turns,
clarifying questions, the odd-utterance table (tests/data/odd_utterances.jsonl), and the error boundary."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from kit.assistant import TOOLS, Assistant, ConversationState, ToolChoice, route_by_rules
from kit.assistant.router import ROUTE, clean_text, find_position, route
from kit.assistant.tools import arguments
from kit.llm.openai_http import OpenAICompatibleChatModel
from kit.planning.schema import NeedDraft, PlanDraft, StepDraft

UTTERANCES = [json.loads(line) for line in
              (Path(__file__).parent / "data" / "odd_utterances.jsonl").read_text(encoding="utf-8").splitlines()]
INTERNAL_ERROR = "went wrong on my side"


def utterance_text(row: dict) -> str:
    return row["text"] * row.get("repeat", 1)


# -- the table and the rules (no models) -------------------------------------------------------------
def test_the_tool_table_is_the_one_definition():
    schema = ToolChoice.model_json_schema()
    assert schema["properties"]["tool"]["enum"] == list(TOOLS)  # the LLM's schema is built from the table
    for tool in TOOLS.values():
        assert tool.help and tool.examples, tool.name
        assert set(tool.args.model_fields) <= set(ToolChoice.model_fields), tool.name
        assert tool.help in ROUTE.system  # the routing prompt lists every tool
    for tool in TOOLS.values():  # every example routes to its own tool (the help reply shows them)
        if tool.name in ("image_search", "steer"):
            continue
        assert route_by_rules(tool.examples[0]).tool == tool.name, tool.examples[0]
    # the LLM's worked examples are the table's examples (a new tool's examples reach the prompt by themselves)
    shown = {turn.removeprefix("Turn: "): json.loads(answer) for turn, answer in ROUTE.examples}
    assert set(shown) <= {e for tool in TOOLS.values() for e in tool.examples}
    assert {answer["tool"] for answer in shown.values()} == set(TOOLS) - {"image_search"}  # a photo is not text
    assert shown["add the last one"] == {"tool": "add", "position": -1}


def test_handlers_get_a_context_not_the_assistant():
    import inspect

    from kit.assistant import tools

    assert "assistant" not in {f.name for f in __import__("dataclasses").fields(tools.TurnContext)}
    code = inspect.getsource(tools)
    assert "ctx.assistant" not in code and "import Assistant" not in code and "kit.assistant.orchestrator" not in code


def test_rules_route_common_turns():
    assert route_by_rules("green apples").tool == "search"
    assert route_by_rules("I'm hosting a brunch for four on Sunday").tool == "plan"
    assert route_by_rules("add the second one").model_dump(exclude_defaults=True) == {"tool": "add", "position": 2}
    assert route_by_rules("tell me more about the first one").tool == "item_info"
    for pick in ("the 2nd one", "and the second one too", "the last one pls", "number 3"):  # a choice from the list
        assert route_by_rules(pick).tool == "add", pick
    assert route_by_rules("show me the third one").tool == "item_info"
    assert route_by_rules("the second one is too expensive").tool == "search"
    assert route_by_rules("no dairy", has_plan=True).tool == "steer"
    assert route_by_rules("what goes well with this?").tool == "complete"
    assert route_by_rules("show my basket").tool == "basket"
    assert route_by_rules("remove the milk from my basket").tool == "remove"
    assert route_by_rules("draw a picture of a lemon").query == "a lemon"
    assert route_by_rules("", has_image=True).tool == "image_search"
    assert route_by_rules("help").tool == "help"


@pytest.mark.parametrize("text, position", [
    ("the last one", -1), ("the one before last", -2), ("second to last", -2), ("the penultimate one", -2),
    ("number 3", 3), ("#12", 12), ("the 3rd one", 3), ("the 0th one", 0), ("the zeroth", 0), ("item 99999", 1000),
    ("the second one", 2), ("green apples", None)])
def test_positions_are_read_as_said(text, position):
    assert find_position(text) == position


def test_every_utterance_routes_to_a_valid_choice_without_model():
    for row in UTTERANCES:
        for has_plan in (False, True):
            choice = route_by_rules(utterance_text(row), has_plan=has_plan)
            arguments(choice)  # the tool's own schema accepts what the rules produced
    assert clean_text("a\x00b\u202ec\n d") == "a b c d" and len(clean_text("x" * 10**6)) == 20_000


# -- turns against the real grocery search -----------------------------------------------------------
@pytest.fixture()
def assistant(grocery_search, chat_server):
    draft = PlanDraft(steps=[StepDraft(title="Drinks", needs=[NeedDraft(item="orange juice"), NeedDraft(item="milk")]),
                             StepDraft(title="Food", needs=[NeedDraft(item="yoghurt")])])
    chat_server.replies = [draft.model_dump_json()]
    scripted = OpenAICompatibleChatModel(chat_server.base_url, "scripted")
    return Assistant({"grocery_store": grocery_search}, planner_llm=lambda: scripted, planner_needs="free")


@pytest.fixture()
def shown(assistant):
    """A state with six apples shown (what a shopper sees before saying 'add the last one')."""
    reply = assistant.turn(assistant.new_state(), "apples")
    assert len(reply.state.last_results) == 6
    return reply.state


@pytest.mark.slow
def test_state_carries_across_turns(assistant, grocery_search):
    state = assistant.new_state()
    reply = assistant.turn(state, "apples")
    assert reply.tool == "search" and reply.cards and state.last_results == []  # the input state is untouched
    ids = set(grocery_search.catalog.ids)
    assert all(card.item_id in ids and card.source for card in reply.cards)
    assert sum(grocery_search.catalog[c.item_id].category == "Apple" for c in reply.cards[:5]) >= 2
    second = reply.cards[1]
    info = assistant.turn(reply.state, "tell me about the second one")
    assert info.tool == "item_info" and info.text.startswith(second.title)
    added = assistant.turn(info.state, "add the second one")
    assert [line.item_id for line in added.state.basket] == [second.item_id]
    basket = assistant.turn(added.state, "show my basket")
    assert [c.item_id for c in basket.cards] == [second.item_id]
    goes_with = assistant.turn(basket.state, "what goes well with it?")
    category = grocery_search.catalog[second.item_id].category
    assert goes_with.cards and all(grocery_search.catalog[c.item_id].category != category for c in goes_with.cards)
    assert all("no purchase data" in c.source and c.reason.startswith("similar in content to") for c in goes_with.cards)
    removed = assistant.turn(goes_with.state, "remove the first one from my basket")
    assert removed.state.basket == [] and removed.state.turns == 6


def test_goals_are_planned_and_products_and_needs_are_searched():
    """A goal is an occasion or an activity (the planning benchmark's goals); a product or a need is searched."""
    goals = [json.loads(line)["goal"] for line in (Path(__file__).parent / "data" / "planning_goals.jsonl").open()]
    planned = [goal for goal in goals if route_by_rules(goal).tool == "plan"]
    assert len(planned) >= 0.9 * len(goals), sorted(set(goals) - set(planned))
    for goal in ("build a small robot with my kids", "i'm making a stir fry tonight", "set up a home office"):
        assert route_by_rules(goal).tool == "plan", goal
    for product in ("black sports shoes for men", "show me navy shirts for office wear", "oat milk", "duct tape",
                    "something to keep my neck warm", "something for a picnic blanket"):
        assert route_by_rules(product).tool == "search", product
    assert route_by_rules("what would go well with these?").tool == "complete"


def test_a_refinement_narrows_the_last_search_and_a_new_product_starts_over(grocery_search, fashion_search):
    from kit.assistant.refine import refined_query

    assert refined_query("", "for women", fashion_search) == "for women"  # nothing to refine yet
    assert refined_query("sweaters", "grey ones", fashion_search) == "sweaters grey ones"
    assert refined_query("sweaters grey ones", "for men", fashion_search) == "sweaters grey ones for men"
    assert refined_query("sweaters", "in black", fashion_search) == "sweaters in black"
    assert refined_query("sweaters", "black formal shoes for men", fashion_search) == "black formal shoes for men"
    assert refined_query("apples", "green ones", grocery_search) == "apples green ones"
    assert refined_query("milk", "the oat one", grocery_search) == "milk the oat one"
    assert refined_query("apples", "oat milk", grocery_search) == "oat milk"


@pytest.mark.slow
def test_a_refinement_keeps_what_was_shown_in_view(assistant, grocery_search):
    first = assistant.turn(assistant.new_state(), "peppers")
    narrowed = assistant.turn(first.state, "the red ones")
    assert narrowed.tool == "search" and narrowed.state.last_query == "peppers the red ones"
    alone = assistant.turn(assistant.new_state(), "the red ones")  # without the context: apples, beets, carrots
    peppers = lambda reply: sum(grocery_search.catalog[c.item_id].category == "Pepper" for c in reply.cards)  # noqa: E731
    assert peppers(narrowed) > peppers(alone), [c.title for c in narrowed.cards]
    fresh = assistant.turn(narrowed.state, "oat milk")
    assert fresh.state.last_query == "oat milk"


@pytest.mark.slow
@pytest.mark.parametrize("row", [r for r in UTTERANCES], ids=lambda r: r["text"][:24] or "empty")
def test_odd_utterances_never_crash_and_references_do_what_they_say(assistant, shown, row):
    text = utterance_text(row)
    for state in (assistant.new_state(), shown):
        reply = assistant.turn(state, text)
        assert isinstance(reply.text, str) and reply.text.strip(), row
        assert INTERNAL_ERROR not in reply.text, (row, reply.text)  # the boundary caught nothing unexpected
        assert reply.state.turns == state.turns + 1
        if reply.tool == "error":
            assert reply.state.basket == state.basket and reply.state.last_results == state.last_results
    # with six products shown, the reply does what the words say
    reply = assistant.turn(shown, text)
    if row.get("tool"):
        assert reply.tool == row["tool"], (row, reply.tool, reply.text)
    if "adds" in row:
        expected = [shown.last_results[p - 1 if p > 0 else p] for p in row["adds"]]
        assert [line.item_id for line in reply.state.basket] == expected, row
    if "info" in row:
        p = row["info"]
        assert reply.cards[0].item_id == shown.last_results[p - 1 if p > 0 else p]
    if row.get("repeat"):
        assert "first 300 characters" in reply.text


@pytest.mark.slow
def test_clarifying_questions_on_the_utterance_table(assistant, grocery_search):
    """Measured on the public table: vague requests get a question, clear ones an answer."""
    ambiguous = [r for r in UTTERANCES if r["kind"] == "ambiguous"]
    clear = [r for r in UTTERANCES if r["kind"] == "clear" and r["tool"] == "search"]
    asked = sum(assistant.turn(assistant.new_state(), utterance_text(r)).tool == "clarify" for r in ambiguous)
    wrongly = sum(assistant.turn(assistant.new_state(), utterance_text(r)).tool == "clarify" for r in clear)
    assert asked / len(ambiguous) >= 0.9 and wrongly == 0, (asked, len(ambiguous), wrongly)
    question = assistant.turn(assistant.new_state(), "something").text
    assert "What kind of product" in question and "Apple" in question  # it names what the catalog has
    need = assistant.turn(assistant.new_state(), "something sour to squeeze over fish")  # no product named
    assert need.tool == "search" and {"Lemon", "Lime"} & {grocery_search.catalog[c.item_id].category for c in need.cards}


@pytest.mark.slow
def test_the_llm_router_reads_the_table_and_a_bad_choice_falls_back(grocery_search, chat_server, shown):
    chat_server.replies = ['{"tool": "add", "position": -1}',  # the last one (this crashed the old schema)
                           '{"tool": "add", "position": 5000}', '{"tool": "teleport"}']  # invalid twice: rules
    llm = OpenAICompatibleChatModel(chat_server.base_url, "scripted")
    helper = Assistant({"grocery_store": grocery_search}, planner_llm=lambda: llm, router_llm=llm)
    reply = helper.turn(shown, "add the last one")
    assert reply.routed_by == "llm" and [line.item_id for line in reply.state.basket] == [shown.last_results[-1]]
    sent = chat_server.requests[0]["body"]
    assert "teleport" not in json.dumps(sent) and "image_search" in json.dumps(sent)  # the table's tools, in the prompt
    fallback = helper.turn(shown, "add the last one")
    assert fallback.routed_by == "rules" and fallback.state.basket[-1].item_id == shown.last_results[-1]
    choice, by = route("add the second one", None)
    assert (choice.tool, choice.position, by) == ("add", 2, "rules")


@pytest.mark.slow
def test_the_boundary_turns_a_model_failure_into_a_reply_and_keeps_the_state(grocery_search, shown, caplog):
    def broken_generator():
        raise RuntimeError("the GPU fell off the bus")

    helper = Assistant({"grocery_store": grocery_search}, planner_llm=lambda: None, image_generator=broken_generator)
    with caplog.at_level(logging.ERROR):
        reply = helper.turn(shown, "draw the first one")
    assert reply.tool == "error" and INTERNAL_ERROR in reply.text and "RuntimeError" in reply.text
    assert reply.state.last_results == shown.last_results and reply.state.turns == shown.turns + 1
    assert "GPU fell off" in caplog.text  # the traceback is in the log, not in the shopper's face


@pytest.mark.slow
def test_a_plan_fills_the_basket_and_follow_ups_steer_it(assistant, grocery_search):
    reply = assistant.turn(assistant.new_state(), "I'm hosting a brunch for four on Sunday")
    assert reply.tool == "plan" and reply.state.plan is not None and "1. **Drinks**" in reply.text
    assert reply.text == reply.state.plan.to_markdown()  # plans render in one place
    assert {line.item_id for line in reply.state.basket} == {c.item_id for c in reply.cards}
    steered = assistant.turn(reply.state, "no dairy")
    assert steered.tool == "steer" and len(steered.state.basket) < len(reply.state.basket)
    assert any("Juice" in grocery_search.catalog[line.item_id].category for line in steered.state.basket)


@pytest.mark.slow
def test_photo_and_speech_turns(assistant, grocery_search, espeak_clip):
    item = grocery_search.catalog["Granny-Smith"]
    by_photo = assistant.turn(assistant.new_state(), image=item.image)
    assert by_photo.tool == "image_search" and by_photo.cards[0].item_id == "Granny-Smith"
    spoken = assistant.turn(assistant.new_state(), audio=espeak_clip("show me orange juice", words_per_minute=140))
    assert "orange juice" in spoken.heard.lower() and spoken.tool == "search"
    assert "Juice" in grocery_search.catalog[spoken.cards[0].item_id].category


@pytest.mark.slow
def test_bad_turns_answer_with_the_reason_and_keep_the_state(assistant, shown, tmp_path):
    fake = tmp_path / "photo.jpg"
    fake.write_text("not an image")
    reply = assistant.turn(shown, image=fake)
    assert reply.tool == "error" and "image" in reply.text.lower() and reply.state.last_results == shown.last_results
    ninth = assistant.turn(shown, "add the ninth one")
    assert ninth.tool == "error" and "from 1 to 6" in ninth.text
    assert assistant.turn(ConversationState(catalog="nope"), "x").text.startswith("Sorry")
    (tmp_path / "empty.wav").write_bytes(b"")
    empty = assistant.turn(shown, audio=tmp_path / "empty.wav")
    assert empty.tool == "error" and "empty" in empty.text


@pytest.mark.slow
def test_the_imagine_tool_uses_the_wish(grocery_search, minilm):
    import torch
    from diffusers import DDPMScheduler

    from kit.imagery import TextToProductImage
    from kit.imagery.pixel_pipeline import TextConditionedPixelPipeline, tiny_unet

    torch.manual_seed(0)
    pipe = TextConditionedPixelPipeline(tiny_unet(16, 384, (8, 16)), DDPMScheduler(num_train_timesteps=100))
    pipe.set_progress_bar_config(disable=True)
    helper = Assistant({"grocery_store": grocery_search}, planner_llm=lambda: None,
                       image_generator=lambda: TextToProductImage(pipe, "tiny-test-pipeline", minilm.encode))
    reply = helper.run_tool(helper.new_state(), "imagine", {"query": "lemon", "wish": "on a picnic table"})
    assert reply.generated is not None and reply.generated.prompt.endswith("on a picnic table")
    assert reply.cards[0].item_id == "Lemon"


@pytest.mark.slow
def test_a_fashion_item_is_drawn_from_its_labels_when_the_label_model_knows_them(fashion_search, lit_encoder):
    import torch
    from diffusers import DDIMScheduler

    from kit.imagery.conditions import LabelEmbedding
    from kit.imagery.label_pipeline import LabelConditionedPipeline, product_unet, training_scheduler
    from kit.imagery.products import ProductsFromLabels

    torch.manual_seed(0)
    values = (["Tshirts", "Watches"], ["Black", "White", "Blue"], ["Men", "Women"])
    pipe = LabelConditionedPipeline(product_unet(16, (8, 16)), LabelEmbedding(values=values, dim=32),
                                    DDIMScheduler.from_config(training_scheduler().config))
    pipe.set_progress_bar_config(disable=True)
    text_model_used = []
    helper = Assistant({"fashion_products": fashion_search}, planner_llm=lambda: None,
                       image_generator=lambda: text_model_used.append(1),
                       product_drawer=lambda: ProductsFromLabels(pipe, "tiny-labels"))
    tee = next(i for i in fashion_search.catalog if i.attributes.get("articleType") == "Tshirts")
    reply = helper.run_tool(helper.new_state("fashion_products"), "imagine", {"query": tee.title})
    shown = fashion_search.catalog[reply.cards[0].item_id]
    assert reply.generated.model == "tiny-labels" and reply.generated.image.size == (16, 16)
    assert f"articleType={shown.attributes['articleType']}" in reply.generated.prompt and not text_model_used
    assert ProductsFromLabels(pipe, "tiny-labels").labels_of(
        next(i for i in fashion_search.catalog if i.attributes.get("articleType") not in values[0])) == {}


@pytest.mark.slow
def test_completion_comes_from_the_graph_model_with_evidence_and_falls_back_when_cold(lit_encoder):
    import torch

    from kit.assistant.completion import EmbeddingCompletion, GraphCompletion
    from kit.bundles.copurchase import CoPurchaseCompleter, CopurchaseTrainConfig
    from kit.catalog import Catalog, Item
    from kit.search import CatalogSearch
    from test_copurchase import toy_shop

    names = ["flour", "yeast", "butter", "sugar", "eggs", "canvas", "brushes", "oil paint", "easel", "palette", "kite"]
    catalog = Catalog([Item(id=f"sku{i}", title=name, category=name) for i, name in enumerate(names)], name="toy")
    search = CatalogSearch.build(catalog, lit_encoder)
    torch.manual_seed(0)
    model = CoPurchaseCompleter.from_sequences(toy_shop(), embedding_dim=16)
    model.fit(CopurchaseTrainConfig(epochs=30, batch_size=64, lr=0.05), progress=False)
    helper = Assistant({"toy": search}, planner_llm=lambda: None,
                       completions={"toy": lambda: GraphCompletion(model, catalog, EmbeddingCompletion(search))})
    state = helper.new_state()
    state.add("sku5", "canvas")
    reply = helper.turn(state, "what goes well with it?")
    assert reply.tool == "complete" and reply.cards[0].source.startswith("lightgcn-copurchase")
    assert {c.item_id for c in reply.cards[:3]} <= {"sku6", "sku7", "sku8", "sku9"}
    shoppers = int(model.copurchases[5, int(reply.cards[0].item_id[3:])])
    assert reply.cards[0].reason == f"bought together with canvas by {shoppers} shopper(s)"
    cold = helper.new_state()
    cold.add("sku10", "kite")  # nobody bought a kite: the graph knows nothing, the embeddings answer
    fallback = helper.turn(cold, "what goes well with it?")
    assert fallback.cards and all("no purchase data" in c.source for c in fallback.cards)
    assert any("canvas" not in c.reason for c in fallback.cards)


def test_fashion_completion_proposes_what_is_worn_with_it_not_more_of_the_same(fashion_search):
    """A men's formal shirt gets other wear slots (bottoms, shoes, belts, ...) for men or unisex; a nearest-
    neighbour completion without the table proposes other tops (the substitutes the issue saw)."""
    from kit.assistant.completion import EmbeddingCompletion
    from kit.bundled_catalogs import CATALOG_TABLE

    table = CATALOG_TABLE["fashion_products"].complements
    catalog = fashion_search.catalog
    shirt = next(item for item in catalog if item.category == "Shirts" and item.attributes["gender"] == "Men"
                 and item.attributes.get("usage") == "Formal")
    suggested = EmbeddingCompletion(fashion_search, complements=table).complete([shirt.id], 6)
    items = [catalog[s.item_id] for s in suggested]
    assert len(items) == 6 and len({item.category for item in items}) == 6
    assert all(item.attributes["subCategory"] in table.partners("Topwear") for item in items)
    assert all(item.attributes["gender"] in ("Men", "Unisex") for item in items)
    assert all(s.reason.startswith(f"{item.category} go with Shirts") and "Men" in s.reason
               for s, item in zip(suggested, items) if item.attributes["gender"] == "Men")
    plain = [catalog[s.item_id] for s in EmbeddingCompletion(fashion_search).complete([shirt.id], 6)]
    assert sum(item.attributes["subCategory"] == "Topwear" for item in plain) >= 2  # what the table fixes
    assert table.partners("no such kind") == () and table.agree({"gender": "Men"}, {"gender": "Unisex"})
    assert not table.agree({"gender": "Men"}, {"gender": "Women"})
