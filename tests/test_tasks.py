"""Shopping tasks (issue #33): the public task file is well formed and every goal can be met from its catalog."""

import json
from collections import Counter
from pathlib import Path

import pytest

from kit.bundled_catalogs import CATALOG_TABLE, open_catalog
from kit.catalog import Item
from kit.datasets import resolve_dataset
from kit.errors import BadInput
from kit.tasks import KINDS, load_tasks, meets

# one unit for the test workers: the tests share this module's set-up (see conftest)
pytestmark = pytest.mark.xdist_group("tasks")

TASKS = Path(__file__).parent / "data" / "shopping_tasks.jsonl"
DEV_TASKS = Path(__file__).parent / "data" / "shopping_tasks_dev.jsonl"  # what the assistant is tuned on, never reported


@pytest.fixture(scope="module")
def public_tasks():
    tasks, problems = load_tasks(TASKS)
    assert problems == []
    return tasks


@pytest.fixture(scope="module", params=["public", "dev"])
def task_file(request, public_tasks):
    if request.param == "public":
        return public_tasks
    tasks, problems = load_tasks(DEV_TASKS)
    assert problems == [] and not {t.id for t in tasks} & {t.id for t in public_tasks}
    assert not {tuple(t.turns) for t in tasks} & {tuple(t.turns) for t in public_tasks}  # no dev phrasing is a public one
    return tasks


def test_the_public_tasks_cover_every_kind_and_catalog(public_tasks):
    assert len(public_tasks) >= 150
    kinds = Counter(task.kind for task in public_tasks)
    assert set(kinds) == set(KINDS) and min(kinds.values()) >= 10, kinds
    assert {task.catalog for task in public_tasks} == set(CATALOG_TABLE)
    for kind in KINDS:  # every kind on every catalog that can have it (photos need a catalog with photos)
        catalogs = {task.catalog for task in public_tasks if task.kind == kind}
        assert catalogs == {n for n, s in CATALOG_TABLE.items() if kind != "photo" or s.has_photos}, kind


def test_every_goal_can_be_met_from_its_catalog(task_file):
    """Enough items meet each goal and each anchor, no alternative matches nothing (a typo), photos exist."""
    catalogs, problems = {name: open_catalog(name) for name in {task.catalog for task in task_file}}, []
    for task in task_file:
        catalog = catalogs[task.catalog]
        if sum(meets(item, task.goal) for item in catalog) < task.needed:
            problems.append(f"{task.id}: fewer than {task.needed} items meet the goal")
        if task.anchor is not None and not any(meets(item, task.anchor) for item in catalog):
            problems.append(f"{task.id}: no item meets the anchor")
        for part in (task.goal, task.anchor or {}):
            for key, alternatives in part.items():
                problems += [f"{task.id}: {key}={alt!r} matches no item" for alt in alternatives
                             if not any(meets(item, {key: [alt]}) for item in catalog)]
        if task.photo is not None and not (resolve_dataset(task.catalog).path / task.photo).is_file():
            problems.append(f"{task.id}: no photo at {task.photo}")
    assert problems == []


def test_a_goal_matches_labels_case_insensitively_and_words_whole():
    item = Item(id="1", title="Arla Natural Mild Low-Fat Yoghurt", category="Yoghurt", attributes={"group": "Packages"})
    assert meets(item, {"category": ["yoghurt"], "group": ["PACKAGES", "Fruit"]})
    assert meets(item, {"title_has": ["low fat yoghurt", "oat milk"]})  # one alternative is enough
    assert not meets(item, {"title_has": ["yog"]})  # whole words only
    assert not meets(item, {"category": ["Yoghurt"], "group": ["Fruit"]})  # every key must match
    assert not meets(item, {"colour": ["White"]})  # a label the item lacks is not met


def test_bad_lines_are_reported_with_their_number_and_skipped(tmp_path):
    good = {"id": "t1", "catalog": "grocery_store", "kind": "find", "turns": ["apples"], "goal": {"category": ["Apple"]}}
    lines = [json.dumps(good), "{not json", json.dumps({**good, "id": "t2", "kind": "browse"}),
             json.dumps({**good, "id": "t3", "kind": "complement"}), json.dumps(good),
             json.dumps({**good, "id": "t4", "turns": ["  "]}), "", json.dumps({**good, "id": "t5", "goal": {}}),
             json.dumps({**good, "id": "t6", "kind": "plan", "min_fit": 0.8})]
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(lines) + "\n")
    tasks, problems = load_tasks(path)
    assert [t.id for t in tasks] == ["t1", "t6"] and tasks[1].needed == 3 and tasks[1].fit == 0.8
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4", "line 5", "line 6", "line 8"]
    assert "used twice" in problems[3] and "anchor" in problems[2]


def test_an_unreadable_task_file_is_a_clear_error(tmp_path):
    with pytest.raises(BadInput, match="cannot read the task file"):
        load_tasks(tmp_path / "missing.jsonl")


# -- the scripted shopper ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def grocery_shopper(grocery_search):
    from kit.assistant import Assistant
    from kit.tasks import ScriptedShopper

    return ScriptedShopper(Assistant({"grocery_store": grocery_search}, planner_llm=lambda: None))


def task(kind="find", turns=("Granny Smith apples",), goal=None, **extra):
    from kit.tasks import ShoppingTask

    return ShoppingTask(id="t", catalog="grocery_store", kind=kind, turns=list(turns),
                        goal=goal or {"title_has": ["Granny Smith"]}, **extra)


def test_the_shopper_adds_the_first_card_that_meets_the_goal(grocery_shopper):
    result = grocery_shopper.run(task())
    assert result.success and result.basket == ["Granny-Smith"] and result.wrong_adds == 0
    assert result.turns == 2 and result.transcript[2].startswith("shopper: add the ")  # asked, then added


def test_every_turn_records_its_tool_and_seconds_for_the_latency_table(grocery_shopper):
    result = grocery_shopper.run(task())
    assert [tool for tool, _ in result.turn_seconds] == ["search", "add"]  # what the bench's p50/p95 read
    assert all(seconds > 0 for _, seconds in result.turn_seconds)


def test_a_goal_no_card_meets_fails_when_the_turns_run_out_and_adds_nothing(grocery_shopper):
    result = grocery_shopper.run(task(turns=["oat milk", "soy milk"], goal={"title_has": ["Watermelon"]}))
    assert not result.success and result.turns == 2 and result.basket == [] and "ran out" in result.why


def test_reference_turns_are_said_as_written_and_the_basket_is_judged(grocery_shopper, grocery):
    shown = grocery_shopper.assistant.turn(grocery_shopper.assistant.new_state("grocery_store"), "apples").cards
    result = grocery_shopper.run(task("reference", ["apples", "add the second one"], {"category": ["Apple"]}))
    assert result.turns == 2 and result.basket == [shown[1].item_id]
    assert result.success == (grocery[shown[1].item_id].category == "Apple")
    assert result.wrong_adds == (0 if result.success else 1)


def test_a_complement_task_needs_its_anchor_in_the_basket_first(grocery_shopper):
    result = grocery_shopper.run(task("complement", ["oat milk", "what goes with it?"], {"title_has": ["Banana"]},
                                      anchor={"title_has": ["Watermelon"]}))
    assert not result.success and "anchor" in result.why and result.basket == []


def test_the_cli_runs_a_task_file_and_skips_bad_lines(lit_encoder, tmp_path, capsys):
    from kit.cli import main

    good = {"id": "g1", "catalog": "grocery_store", "kind": "find", "turns": ["Granny Smith apples"],
            "goal": {"title_has": ["Granny Smith"]}}
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join([json.dumps(good), "{oops", json.dumps({**good, "id": "g2", "turns": ["oat milk"],
                                                                     "goal": {"title_has": ["Watermelon"]}})]) + "\n")
    assert main(["tasks", "run", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert "line 2: not JSON" in captured.err
    assert report["n"] == 2 and report["success_rate"] == 0.5 and report["by_kind"] == {"find": 0.5}
    assert [t["success"] for t in report["tasks"]] == [True, False]
