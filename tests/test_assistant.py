"""The assistant's turns, called directly: routing, state across turns, every tool, bad input."""

from __future__ import annotations

import pytest

from kit.assistant import Assistant, ConversationState, route_by_rules
from kit.assistant.router import find_position
from kit.llm.openai_http import OpenAICompatibleChatModel
from kit.planning.schema import NeedDraft, PlanDraft, StepDraft


def test_rules_route_common_turns():
    assert route_by_rules("green apples").tool == "search"
    assert route_by_rules("I'm hosting a brunch for four on Sunday").tool == "plan"
    assert route_by_rules("add the second one").model_dump() == {"tool": "add", "query": "", "position": 2}
    assert route_by_rules("tell me more about the first one").tool == "item_info"
    assert route_by_rules("no dairy", has_plan=True).tool == "steer"
    assert route_by_rules("what goes well with this?").tool == "complete"
    assert route_by_rules("show my basket").tool == "basket"
    assert route_by_rules("remove the milk from my basket").tool == "remove"
    assert route_by_rules("draw a picture of a lemon").query == "a lemon"
    assert route_by_rules("", has_image=True).tool == "image_search"
    assert route_by_rules("help").tool == "help"
    assert find_position("the last one") == -1 and find_position("number 3") == 3


@pytest.fixture()
def assistant(grocery_search, chat_server):
    draft = PlanDraft(steps=[StepDraft(title="Drinks", needs=[NeedDraft(item="orange juice"), NeedDraft(item="milk")]),
                             StepDraft(title="Food", needs=[NeedDraft(item="yoghurt")])])
    chat_server.replies = [draft.model_dump_json()]
    scripted = OpenAICompatibleChatModel(chat_server.base_url, "scripted")
    return Assistant({"grocery_store": grocery_search}, planner_llm=lambda: scripted)


@pytest.mark.slow
def test_state_carries_across_turns(assistant, grocery_search):
    state = assistant.new_state()
    reply = assistant.turn(state, "apples")
    assert reply.tool == "search" and reply.cards and state.last_results == []  # the input state is untouched
    ids = set(grocery_search.catalog.ids)
    assert all(card.item_id in ids for card in reply.cards)
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
    removed = assistant.turn(goes_with.state, "remove the first one from my basket")
    assert removed.state.basket == [] and removed.state.turns == 6


@pytest.mark.slow
def test_a_plan_fills_the_basket_and_follow_ups_steer_it(assistant, grocery_search):
    reply = assistant.turn(assistant.new_state(), "I'm hosting a brunch for four on Sunday")
    assert reply.tool == "plan" and reply.state.plan is not None and "1. Drinks" in reply.text
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
def test_bad_turns_answer_with_the_reason_and_keep_the_state(assistant, tmp_path):
    state = assistant.turn(assistant.new_state(), "lemons").state
    fake = tmp_path / "photo.jpg"
    fake.write_text("not an image")
    reply = assistant.turn(state, image=fake)
    assert reply.tool == "error" and "image" in reply.text.lower() and reply.state.last_results == state.last_results
    assert assistant.turn(state, "add the ninth one").tool == "error"
    assert assistant.turn(ConversationState(catalog="nope"), "x").text.startswith("Sorry")
    (tmp_path / "empty.wav").write_bytes(b"")
    empty = assistant.turn(state, audio=tmp_path / "empty.wav")
    assert empty.tool == "error" and "empty" in empty.text
