"""A scripted shopper that runs shopping tasks through the assistant, and the success rate it reports.

The shopper is deterministic and reads only what the app shows, the cards of a reply and the basket; the
catalog's labels serve as its eyes (does this card show what I came for?) and as the judge at the end:

1. it says ``turns[0]`` (with the task's photo, or spoken by the kit's voice for a ``spoken`` task);
2. after each reply, if a shown card meets the goal it says "add the N-th one" with that card's position
   (the first match, and more while the goal asks for more items); otherwise it says the next turn;
3. when the turns run out, the task has failed.

``complement``: the anchor is found and added the same way first, then the next turn asks for what goes with
it. ``plan``: the basket the plan produced is judged (``min_fit`` of its lines meet the goal, and at least
``min_items`` do). ``reference``: the turns are said exactly as written and the basket is judged at the end.
A task succeeds when at least ``min_items`` basket lines meet the goal (the anchor not counted);
``wrong_adds`` counts the lines that do not.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from kit.assistant import Assistant
from kit.bundled_catalogs import open_catalog
from kit.catalog import Catalog
from kit.datasets import resolve_dataset
from kit.tasks.taskfile import ShoppingTask, meets

ORDINAL_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


@dataclass
class TaskResult:
    id: str
    kind: str
    catalog: str
    success: bool
    turns: int  # what the shopper said, adds included
    wrong_adds: int  # basket lines that do not meet the goal (the anchor of a complement task excepted)
    seconds: float
    why: str = ""  # for a failure: what went wrong, in a line
    basket: list[str] = field(default_factory=list)  # item ids at the end
    transcript: list[str] = field(default_factory=list)  # "shopper: ..." / "assistant: ... [cards]"
    turn_seconds: list[tuple[str, float]] = field(default_factory=list)  # (tool, seconds) of every assistant turn


def _add_phrase(position: int) -> str:
    return f"add the {ORDINAL_WORDS[position - 1]} one" if position <= len(ORDINAL_WORDS) else f"add number {position}"


class ScriptedShopper:
    """Runs :class:`ShoppingTask` s through an :class:`Assistant` (see the module docstring)."""

    def __init__(self, assistant: Assistant, catalogs: dict[str, Catalog] | None = None) -> None:
        self.assistant = assistant
        self.catalogs = catalogs if catalogs is not None else {}

    def catalog(self, name: str) -> Catalog:
        if name not in self.catalogs:
            self.catalogs[name] = self.assistant.searches[name].catalog if name in self.assistant.searches \
                else open_catalog(name)
        return self.catalogs[name]

    def run(self, task: ShoppingTask) -> TaskResult:
        started = time.perf_counter()
        episode = _Episode(self, task)
        success, why = episode.play()
        return TaskResult(task.id, task.kind, task.catalog, success, episode.said, episode.wrong_adds(),
                          time.perf_counter() - started, "" if success else why, episode.basket_ids(),
                          episode.transcript, episode.turn_seconds)


class _Episode:
    """One task's conversation: the state, what was said, and the judge."""

    def __init__(self, shopper: ScriptedShopper, task: ShoppingTask) -> None:
        self.shopper, self.task, self.said, self.transcript, self.turn_seconds = shopper, task, 0, [], []
        self.catalog = shopper.catalog(task.catalog)
        self.state = shopper.assistant.new_state(task.catalog) if task.catalog in shopper.assistant.searches else None
        self.anchor_id: str | None = None

    # -- talking ----------------------------------------------------------------------------------
    def say(self, text: str, first: bool = False):
        kwargs: dict = {}
        if first and self.task.photo is not None:
            kwargs["image"] = resolve_dataset(self.task.catalog).path / self.task.photo
        if self.task.kind == "spoken":
            from kit.speech.tts import speak

            kwargs["audio"], kwargs["sample_rate"] = speak(text)
            reply = self.shopper.assistant.turn(self.state, **kwargs)
        else:
            reply = self.shopper.assistant.turn(self.state, text, **kwargs)
        self.state, self.said = reply.state, self.said + 1
        self.turn_seconds.append((reply.tool, reply.seconds))
        self.transcript.append(f"shopper: {text}" + (f" [photo {self.task.photo}]" if "image" in kwargs else ""))
        shown = ", ".join(card.item_id for card in reply.cards[:10])
        self.transcript.append(f"assistant ({reply.tool}): {reply.text[:200]}" + (f" [cards: {shown}]" if shown else ""))
        return reply

    def add_matches(self, reply, goal: dict[str, list[str]], wanted: int) -> int:
        """Add up to ``wanted`` shown cards that meet ``goal``, first match first; returns how many were added."""
        added = 0
        for position, card in enumerate(reply.cards, start=1):
            if added == wanted:
                break
            if card.item_id in self.catalog.ids and card.item_id != self.anchor_id and \
                    meets(self.catalog[card.item_id], goal) and card.item_id not in self.basket_ids():
                before = len(self.basket_ids())
                self.say(_add_phrase(position))
                added += len(self.basket_ids()) > before
        return added

    # -- judging ----------------------------------------------------------------------------------
    def basket_ids(self) -> list[str]:
        return [line.item_id for line in self.state.basket] if self.state is not None else []

    def meeting(self) -> list[str]:
        return [i for i in self.basket_ids() if i != self.anchor_id and i in self.catalog.ids
                and meets(self.catalog[i], self.task.goal)]

    def wrong_adds(self) -> int:
        return sum(1 for i in self.basket_ids() if i != self.anchor_id) - len(self.meeting())

    def met(self) -> bool:
        return len(self.meeting()) >= self.task.needed

    # -- the script ---------------------------------------------------------------------------------
    def play(self) -> tuple[bool, str]:
        task = self.task
        if self.state is None:
            return False, f"the assistant does not serve the catalog {task.catalog!r}"
        turns = list(task.turns)
        if task.kind == "reference":
            for index, turn in enumerate(turns):
                self.say(turn, first=index == 0)
            return self.met(), f"{len(self.meeting())} of {task.needed} basket lines meet the goal"
        if task.kind == "plan":
            self.say(turns[0], first=True)
            lines = self.basket_ids()
            share = len(self.meeting()) / len(lines) if lines else 0.0
            ok = self.met() and share >= task.fit
            return ok, f"the plan's basket: {len(self.meeting())} of {len(lines)} lines meet the goal (need {task.fit:.0%})"
        if task.kind == "complement":
            reply = self.say(turns.pop(0), first=True)
            anchors = [c for c in reply.cards if c.item_id in self.catalog.ids and meets(self.catalog[c.item_id], task.anchor)]
            if not anchors:
                return False, "no shown card met the anchor"
            position = reply.cards.index(anchors[0]) + 1
            self.say(_add_phrase(position))
            if anchors[0].item_id not in self.basket_ids():
                return False, "the anchor could not be added"
            self.anchor_id = anchors[0].item_id
        for index, turn in enumerate(turns):
            reply = self.say(turn, first=index == 0 and task.kind != "complement")
            self.add_matches(reply, task.goal, task.needed - len(self.meeting()))
            if self.met():
                return True, ""
        return False, "no shown card met the goal before the turns ran out"


def summarize(results: Iterable[TaskResult]) -> dict:
    """``{"success_rate", "n", "by_kind", "by_catalog", "tasks"}``: the shape ``python -m kit tasks run`` prints."""
    results = list(results)
    groups: dict[str, dict[str, list[bool]]] = {"by_kind": defaultdict(list), "by_catalog": defaultdict(list)}
    for result in results:
        groups["by_kind"][result.kind].append(result.success)
        groups["by_catalog"][result.catalog].append(result.success)
    rate = lambda values: round(sum(values) / len(values), 4) if values else 0.0  # noqa: E731
    return {"success_rate": rate([r.success for r in results]), "n": len(results),
            **{name: {key: rate(values) for key, values in sorted(group.items())} for name, group in groups.items()},
            "tasks": [asdict(r) for r in results]}
