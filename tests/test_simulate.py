"""Simulated shoppers: built from real histories; the choice model beats chance on real held-out purchases; the
A/B table and the validation measure what they say; the LLM agent turns any chat model's reply into a decision
and never crashes a run on a bad one; pages never repeat a purchase."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kit.cli import main
from kit.eval import intra_list_diversity
from kit.llm.chat import ChatModel
from kit.simulate import (POLICIES, ChoiceModelShopper, Decision, LLMShopper, SimulationContext, build_shoppers,
                          offline_recall, simulate_ab, validate)
from kit.simulate.datasets import bundle_sequences, bundle_vectors
from kit.simulate.experiment import validation_pages

# one unit for the test workers: the tests share this module's set-up (see conftest)
pytestmark = pytest.mark.xdist_group("simulate")

PAGE = 10


@pytest.fixture(scope="module")
def context():
    return SimulationContext.load("amazon_scientific")


@pytest.fixture(scope="module")
def shoppers(context):
    return build_shoppers(context.data, 200, seed=1)


@pytest.fixture(scope="module")
def choice(context):
    return ChoiceModelShopper.fit(context.data, context.vectors, PAGE, pages=2000, seed=0)


class Oracle:
    """Clicks the shopper's real next purchase when it is shown, else leaves (what a perfect simulator does)."""

    name = "oracle"

    def decide(self, shopper, page):
        if shopper.next_item in page:
            return Decision(action="basket", item=shopper.next_item, reason="my next purchase")
        return Decision(action="leave", reason="not here")


class FirstItem:
    name = "first item"

    def decide(self, shopper, page):
        return Decision(action="click", item=page[0], reason="the top of the page")


def test_shoppers_come_from_distinct_real_users_with_their_history(context, shoppers):
    test_rows = {(e.user, e.target): e for e in context.data.splits["test"]}
    assert len({s.user for s in shoppers}) == len(shoppers) == 200
    for shopper in shoppers[:20]:
        real = test_rows[(shopper.user, shopper.next_item)]
        assert real.history[-len(shopper.history):] == shopper.history
        assert not set(shopper.passed_over) & set(real.history)
        assert "You have bought" in shopper.profile


def test_pages_hold_page_size_distinct_items_and_never_a_purchase(context, shoppers):
    histories = [s.history for s in shoppers[:50]]
    for name in POLICIES:
        pages = context.pages(name)(histories, PAGE)
        assert len(pages) == 50, name
        for history, page in zip(histories, pages):
            assert len(set(page)) == PAGE and not set(page) & set(history), name


def test_co_purchase_pages_hold_items_bought_next_to_the_history(context):
    user_rows = [e for e in context.data.splits["train"] if len(e.history) >= 2][:100]
    pages = context.pages("co-purchase")([e.history[:-1] for e in user_rows], PAGE)
    # the item bought right after the history's last item is a co-purchase of it: often on the page
    assert np.mean([e.history[-1] in page for e, page in zip(user_rows, pages)]) > 0.5


def test_diversity_policy_spreads_its_pages(context, shoppers):
    histories = [s.history for s in shoppers[:50]]
    ild = {name: np.mean([intra_list_diversity(context.vectors[page]) for page in context.pages(name)(histories, PAGE)])
           for name in ("content", "content+diversity")}
    assert ild["content+diversity"] > ild["content"]


def test_the_choice_model_learns_similarity_and_beats_chance_on_real_next_purchases(context, shoppers, choice):
    assert choice.weights[0] + choice.weights[1] > 0  # shown items like the history are chosen more
    pages = validation_pages(shoppers, context.data.num_items, PAGE, seed=3)
    p_real = [choice.probabilities(s, page)[page.index(s.next_item)] for s, page in zip(shoppers, pages)]
    assert np.mean(p_real) > 1.5 / PAGE  # the real item gets well above its chance share
    decision = choice.decide(shoppers[0], pages[0])
    assert decision.action in ("click", "basket", "leave") and (decision.item in pages[0]) == decision.chose


def test_ab_rates_and_intervals_are_what_the_simulator_did(context, shoppers):
    policies = {name: context.pages(name) for name in ("popularity", "content")}
    report = simulate_ab(Oracle(), shoppers, policies, PAGE)
    for row in report.rows:
        decisions = report.decisions[row["policy"]]
        assert row["click_rate"]["rate"] == pytest.approx(np.mean([d.chose for d in decisions]))
        assert row["basket_rate"]["rate"] == row["click_rate"]["rate"]  # the oracle always adds to the basket
        assert row["leave_rate"]["rate"] == pytest.approx(1 - row["click_rate"]["rate"])
        low, high = row["click_rate"]["ci95"]
        assert low <= row["click_rate"]["rate"] <= high
    # the oracle clicks exactly when the page holds the next purchase: its click rate is the policy's recall
    for name, rate in report.click_rates().items():
        pages = policies[name]([s.history for s in shoppers], PAGE)
        assert rate == pytest.approx(np.mean([s.next_item in p for s, p in zip(shoppers, pages)]))


def test_validation_separates_a_perfect_simulator_from_a_position_bias(context, shoppers):
    policies = {name: context.pages(name) for name in ("random", "popularity", "co-purchase", "content")}
    offline = offline_recall(context.data, policies, PAGE, users=2000)
    assert offline["random"] < offline["popularity"] < offline["co-purchase"]
    perfect = validate(Oracle(), shoppers, context.data.num_items, simulate_ab(Oracle(), shoppers, policies, PAGE),
                       offline)
    assert perfect.hit_rate == 1.0 and perfect.chance == 1 / PAGE
    assert perfect.kendall_tau is not None and perfect.kendall_tau > 0.5
    assert perfect.kendall_tau_ci95[0] <= perfect.kendall_tau <= perfect.kendall_tau_ci95[1]
    biased = validate(FirstItem(), shoppers, context.data.num_items,
                      simulate_ab(FirstItem(), shoppers, policies, PAGE), offline)
    assert biased.hit_rate < 0.2 and biased.kendall_tau is None  # it clicks every page: no order at all
    assert biased.kendall_tau_ci95 is None


class ScriptedChat(ChatModel):
    """Stands in for the chat model (outside the thing under test): replies from a script, in order."""

    name = "scripted"

    def __init__(self, replies):
        self.replies, self.calls = list(replies), 0

    def complete(self, messages, *, max_new_tokens, temperature, json_schema=None):
        self.calls += 1
        return self.replies.pop(0) if self.replies else "no json here"


def test_the_llm_agent_maps_numbers_to_items_and_survives_bad_replies(context, shoppers):
    page = validation_pages(shoppers[:1], context.data.num_items, PAGE)[0]
    chat = ScriptedChat(['{"action": "basket", "item": 3, "reason": "I need tape"}',
                         '{"action": "click", "item": 0, "reason": "x"}',  # a click without an item: asked again
                         '{"action": "leave", "item": 0, "reason": "too expensive"}',
                         '{"action": "click", "item": 11, "reason": "x"}', '{"action": "dance", "item": 1}'])
    agent = LLMShopper(chat, context.data.texts)
    first = agent.decide(shoppers[0], page)
    assert (first.action, first.item, first.reason) == ("basket", page[2], "I need tape")
    assert agent.decide(shoppers[0], page).action == "leave" and chat.calls == 3
    broken = agent.decide(shoppers[0], page)  # item 11 of 10, then an unknown action: no valid decision
    assert broken.action == "skip" and broken.item is None and agent.failures == 1 and agent.decisions == 3
    assert chat.replies == []  # every scripted reply was asked for: 1 + 2 + 2 tries


def test_cli_simulate_reports_the_ab_table_and_its_validation(capsys):
    assert main(["simulate", "--users", "30", "--policies", "random,popularity,co-purchase,content",
                 "--offline-users", "500", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["validation"]) >= {"hit_rate", "chance", "kendall_tau"} and out["validation"]["chance"] == 0.1
    assert [row["policy"] for row in out["policies"]] == ["random", "popularity", "co-purchase", "content"]
    assert all(0 <= row["leave_rate"]["rate"] <= 1 for row in out["policies"]) and out["shoppers"] == 30


def test_sampled_negatives_are_distinct_unseen_and_refused_when_too_few():
    import random

    from kit.sequences import sample_unseen

    drawn = sample_unseen(random.Random(0), 20, {0, 1, 2}, 17)
    assert sorted(drawn) == list(range(3, 20))
    with pytest.raises(ValueError):
        sample_unseen(random.Random(0), 20, {0, 1, 2}, 18)


def test_bundle_choices_become_sequences_with_a_held_out_choice():
    train = np.array([[0, 0, 0, 1, 2], [5, 6, 7, 5, 8]])  # user 0 chose bundles 5, 6, 7; user 1: 5; user 2: 8
    test = np.array([[0, 0, 1, 3], [6, 9, 2, 4]])  # user 0's 6 was chosen before; user 3 has no train history
    data = bundle_sequences(train, test, bundle_sizes=np.arange(10))
    assert [(e.user, e.history, e.target) for e in data.splits["train"]] == [(0, (5,), 6), (0, (5, 6), 7)]
    assert [(e.user, e.history, e.target) for e in data.splits["test"]] == [(0, (5, 6, 7), 9), (1, (5,), 2)]
    assert data.num_items == 10 and data.texts[3] == "Youshu bundle 3 (3 books)"
    items = np.array([[0, 0, 1, 1, 2], [0, 1, 0, 1, 2]])  # bundles 0 and 1 hold the same books, 2 others
    vectors = bundle_vectors(items, num_bundles=3, num_items=3, dimensions=2)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    assert vectors.shape == (3, 2) and unit[0] @ unit[1] > 0.99 and abs(unit[0] @ unit[2]) < 0.01


def test_cli_simulates_youshu_shoppers_who_pick_their_real_next_bundle_above_chance(capsys):
    assert main(["simulate", "--dataset", "youshu", "--users", "200", "--policies", "random,popularity",
                 "--offline-users", "1000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dataset"] == "youshu" and [p["policy"] for p in out["policies"]] == ["random", "popularity"]
    validation = out["validation"]
    assert validation["hit_rate_ci95"][0] > validation["chance"] == 0.1
    assert validation["offline_recall"]["popularity"] > validation["offline_recall"]["random"]
