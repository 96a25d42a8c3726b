"""Goals become grounded plans: the catalog offers the needs, the LLM arranges them, search supplies the items.

    planner = Planner(load_chat_model(), CatalogSearch.build(open_catalog("grocery_store"), encoder))
    plan = planner.plan("I'm hosting a brunch for four on Sunday")
    for progress in planner.stream("a winter trip"):   # the same plan, step by step, for a UI
        show(progress.message)
    plan = planner.steer(plan, "no dairy")        # edits the plan; the old one is left as it was

``plan`` in numbered steps (``needs="catalog"``, the default):
1. rank the catalog's categories for the goal (kit/planning/needs.py) and keep the closest ``candidates``;
   the first progress event shows them, before any model call;
2. pick the two worked examples closest to the goal and ask for a ``CatalogPlanDraft`` whose needs are an
   enum of the candidates (schema-constrained decoding: the model cannot name what the shop lacks);
3. merge needs the draft repeats;
4. ground every need in its category through kit.search (kit/planning/grounding.py) under the constraints;
5. build the basket from the chosen catalog items, with a reason per item.
``needs="free"`` is the original prompt (the model names needs in its own words; grounding may find
nothing); ``needs="ranked"`` asks no model at all (the ``ranked_needs`` closest categories, one step): the
floor the model has to beat on the planning benchmark (kit/planning/benchmark.py). Every model call is appended to ``planner.log`` for notebooks to show.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np

from kit.errors import BadInput
from kit.llm.chat import CallLog, ChatModel, StructuredOutputError
from kit.llm.prompting import quote_data
from kit.bundled_catalogs import CATALOG_TABLE
from kit.planning.grounding import ground_need
from kit.planning.needs import NeedVocabulary
from kit.planning.party import party_note, party_size
from kit.planning.prompts import EDIT, PLAN, PLAN_EXAMPLES, PLAN_FROM_CATALOG, SUGGEST_NEED, PlanExample
from kit.planning.schema import (BasketEntry, Constraints, GroundedNeed, NeedDraft, NeedSuggestion, NeedsMode, Plan,
                                 PlanDraft, PlanEdit, PlanStep, catalog_plan_schema)
from kit.search.engine import CatalogSearch

EXTRA_STEP = "Extras"


@dataclass
class PlanProgress:
    """One visible moment of planning: what happened, and the plan so far (None before the first step)."""

    stage: Literal["needs", "draft", "step", "done"]
    message: str
    plan: Plan | None = None


class Planner:
    def __init__(self, llm: ChatModel, search: CatalogSearch, matches_per_need: int = 3,
                 min_similarity: float = 0.6, needs: NeedsMode = "catalog", candidates: int = 6,
                 vocabulary: NeedVocabulary | None = None, ranked_needs: int = 4, min_needs: int = 3) -> None:
        """``min_needs``: a plan from the catalog's categories has at least this many needs; when the model picks
        fewer ('going running' -> shorts only), the next closest categories fill it up, and the plan says so."""
        if needs not in ("catalog", "free", "ranked"):
            raise BadInput(f"needs must be 'catalog', 'free' or 'ranked', got {needs!r}")
        self.llm, self.search = llm, search
        self.matches_per_need, self.min_similarity = matches_per_need, min_similarity
        self.needs, self.candidates, self.ranked_needs, self.min_needs = needs, candidates, ranked_needs, min_needs
        self._vocabulary = vocabulary
        self.log = CallLog()

    @property
    def vocabulary(self) -> NeedVocabulary:
        """The catalog's categories ranked per goal; built on first use (cached item text vectors)."""
        if self._vocabulary is None:
            self._vocabulary = NeedVocabulary.build(self.search.catalog)
        return self._vocabulary

    # -- planning ------------------------------------------------------------------------------------
    def plan(self, goal: str, constraints: Constraints | None = None) -> Plan:
        """The finished plan for ``goal`` (the last event of :meth:`stream`)."""
        *_, last = self.stream(goal, constraints)
        return last.plan

    def stream(self, goal: str, constraints: Constraints | None = None) -> Iterator[PlanProgress]:
        """Plan ``goal``, yielding each visible step: candidate needs, the draft, each grounded step, done."""
        goal = quote_data(goal, limit=300)
        if not goal:
            raise BadInput("the goal is empty; say what you are planning, e.g. 'brunch for four on Sunday'")
        constraints = constraints or Constraints()
        model_note = ""  # what the model did not do (a broken draft, too few needs) and what stood in for it
        if self.needs == "free":
            messages = PLAN.render(goal=goal, catalog_summary=self.catalog_summary())
            draft = self.llm.structured(messages, PlanDraft, log=self.log, purpose=PLAN.id)
            steps = [(s.title, s.needs) for s in draft.steps]
        elif self.needs == "ranked":  # the floor the model must beat: the closest categories, no model call
            ranked = [r.category for r in self.vocabulary.rank(goal, self.ranked_needs)]
            yield PlanProgress("needs", "Looking in: " + ", ".join(ranked))
            steps = [(f"Shop for {goal}"[:80], [_catalog_need(c) for c in ranked])]
        else:
            # 1. the catalog's closest categories, shown before the model is asked anything
            ranked = [r.category for r in self.vocabulary.rank(goal, self.candidates)]
            yield PlanProgress("needs", "Looking in: " + ", ".join(ranked))
            # 2. the two closest worked examples, and a draft whose needs can only be those categories
            template = dataclasses.replace(PLAN_FROM_CATALOG, examples=[e.messages() for e in self.examples_for(goal)])
            messages = template.render(goal=goal, candidates=", ".join(quote_data(c, 40) for c in ranked))
            try:
                draft = self.llm.structured(messages, catalog_plan_schema(ranked), max_new_tokens=160, log=self.log,
                                            purpose=PLAN_FROM_CATALOG.id)
                steps = [(s.title, [_catalog_need(c) for c in s.needs]) for s in draft.steps]
            except StructuredOutputError as error:  # a small model's broken JSON: the ranked categories, said so
                model_note = (f"{self.model_name} gave no valid plan ({str(error)[:80]}...); these are the catalog's "
                              f"closest categories to the goal, without a model's choice")
                yield PlanProgress("needs", model_note)
                steps = [(f"Shop for {goal}"[:80], [_catalog_need(c) for c in ranked[:self.ranked_needs]])]
            steps, filled = _at_least(steps, ranked, self.min_needs)
            if filled and not model_note:
                model_note = (f"{self.model_name} chose fewer than {self.min_needs} needs; the catalog's next closest "
                              f"categories ({', '.join(_need_words(c)[:40] for c in filled)}) complete the plan")
        # 3. merge repeats; one of each per person where the catalog's products are used up per person
        steps, notes = self._for_party(goal, _merge_repeats(steps))
        if model_note:
            notes = [model_note, *notes]
        yield PlanProgress("draft", "Plan: " + "; ".join(f"{t} ({', '.join(n.item for n in needs)})" for t, needs in steps))
        # 4. ground step by step, 5. the basket
        grounded: list[PlanStep] = []
        for step in self._ground_steps(goal, steps, constraints):
            grounded.append(step)
            plan = self._assemble(goal, grounded, constraints, notes=notes, history=[])
            yield PlanProgress("step", f"Step {len(grounded)}: {step.title}", plan)
        yield PlanProgress("done", f"{len(plan.basket)} items in the basket", plan)

    def _for_party(self, goal: str, steps: list[tuple[str, list[NeedDraft]]]) -> tuple[list, list[str]]:
        """(steps, notes): each need's quantity raised to the number of people the goal names, on a catalog
        whose spec says its products are used up per person (:attr:`CatalogSpec.per_person`)."""
        spec = CATALOG_TABLE.get(self.search.catalog.name)
        people = party_size(goal) if spec is not None and spec.per_person else None
        if not people or people < 2:
            return steps, []
        scaled = [(title, [n.model_copy(update={"quantity": max(n.quantity, people)}) for n in needs])
                  for title, needs in steps]
        return scaled, [party_note(people, goal)]

    def examples_for(self, goal: str, k: int = 2) -> list[PlanExample]:
        """The ``k`` worked examples whose goals are closest to ``goal``, this catalog's first."""
        pool = [e for e in PLAN_EXAMPLES if e.catalog == self.search.catalog.name] or PLAN_EXAMPLES
        vectors = self.vocabulary.encoder.encode([goal] + [e.goal for e in pool], kind="query")
        order = np.argsort(-(vectors[1:] @ vectors[0]), kind="stable")
        return [pool[i] for i in order[:k]][::-1]  # the closest last, next to the question

    def catalog_summary(self, limit: int = 30) -> str:
        """The catalog's most common categories, as data for the prompt."""
        counts = Counter(item.category for item in self.search.catalog if item.category)
        return ", ".join(quote_data(name, 40) for name, _ in counts.most_common(limit)) or "assorted products"

    # -- steering ------------------------------------------------------------------------------------
    def steer(self, plan: Plan, request: str) -> Plan:
        """``plan`` edited by a follow-up ("cheaper", "no dairy", "add something for dessert")."""
        request = quote_data(request, limit=200)
        if not request:
            raise BadInput("the follow-up is empty")
        edit = read_edit(request) or self.llm.structured(EDIT.render(request=request), PlanEdit, log=self.log,
                                                         purpose=EDIT.id)
        constraints = plan.constraints.model_copy(deep=True)
        steps = [(s.title, [g.need for g in s.needs]) for s in plan.steps]
        notes = list(plan.notes)
        if edit.action == "cheaper":
            constraints.prefer_cheaper = True
        elif edit.action == "budget":
            constraints.max_total = edit.amount
        elif edit.action == "exclude":
            constraints.exclude = sorted(set(constraints.exclude) | {t.lower() for t in edit.terms})
        elif edit.action == "remove":
            removed = {t.lower() for t in edit.terms}
            steps = [(title, [n for n in needs if not _mentions(n.item, removed)]) for title, needs in steps]
            steps = [(title, needs) for title, needs in steps if needs]
        elif edit.action == "add":
            step, need = self._new_need(request, edit.terms, [title for title, _ in steps])
            steps = _add_need(steps, step, need)
        if edit.action in ("cheaper", "budget") and not any(item.price is not None for item in self.search.catalog):
            notes.append(f"'{request}': the catalog {self.search.catalog.name!r} has no prices, so the basket "
                         f"cannot get cheaper; the items are unchanged")
        return self._build(plan.goal, steps, constraints, notes, plan.history + [request], plan.prompt_version)

    def _new_need(self, request: str, terms: list[str], step_titles: list[str]) -> tuple[str, NeedDraft]:
        concrete = [t for t in terms if not re.search(r"\b(something|anything|stuff|more)\b", t)]
        if concrete:
            return EXTRA_STEP, NeedDraft(item=concrete[0][:60])
        messages = SUGGEST_NEED.render(request=request, steps="; ".join(quote_data(t, 60) for t in step_titles))
        suggestion = self.llm.structured(messages, NeedSuggestion, log=self.log, purpose=SUGGEST_NEED.id)
        return suggestion.step, suggestion.need

    # -- grounding -----------------------------------------------------------------------------------
    def _build(self, goal: str, steps: list[tuple[str, list[NeedDraft]]], constraints: Constraints,
               notes: list[str], history: list[str], prompt_id: str | None = None) -> Plan:
        return self._assemble(goal, list(self._ground_steps(goal, steps, constraints)), constraints, notes, history,
                              prompt_id)

    def _ground_steps(self, goal: str, steps: list[tuple[str, list[NeedDraft]]],
                      constraints: Constraints) -> Iterator[PlanStep]:
        """Each step with its needs grounded in the catalog, one step at a time."""
        shares = _budget_shares([n for _, needs in steps for n in needs])
        for title, needs in steps:
            grounded = []
            for need in needs:
                max_price = None
                if constraints.max_total is not None:
                    max_price = constraints.max_total * shares[id(need)] / need.quantity
                grounded.append(ground_need(self.search, title, need, constraints, max_price=max_price,
                                            k=self.matches_per_need, min_similarity=self.min_similarity,
                                            context=goal))
            yield PlanStep(title=title, needs=grounded)

    def _assemble(self, goal: str, plan_steps: list[PlanStep], constraints: Constraints, notes: list[str],
                  history: list[str], prompt_id: str | None = None) -> Plan:
        all_needs = [g for s in plan_steps for g in s.needs]
        return Plan(goal=goal, catalog=self.search.catalog.name, model=self.model_name,
                    prompt_version=prompt_id or self.prompt_id, steps=plan_steps, basket=_basket(all_needs, self.search),
                    unmatched=[g.note for g in all_needs if g.chosen is None], constraints=constraints,
                    notes=notes, history=history)

    @property
    def prompt_id(self) -> str:
        return {"catalog": PLAN_FROM_CATALOG.id, "free": PLAN.id, "ranked": "no prompt"}[self.needs]

    @property
    def model_name(self) -> str:
        return "none (catalog ranking)" if self.needs == "ranked" else self.llm.name


def read_edit(request: str) -> PlanEdit | None:
    """The common follow-ups read without a model call; None when the wording needs the LLM."""
    text = request.lower().strip()
    if re.search(r"\b(cheaper|less expensive|budget[- ]friendly|save money|lower price)", text):
        return PlanEdit(action="cheaper")
    if m := re.search(r"\b(?:under|below|at most|max(?:imum)?|budget of)\s*[$€£]?\s*(\d+(?:[.,]\d+)?)", text):
        return PlanEdit(action="budget", amount=float(m.group(1).replace(",", ".")))
    if m := re.match(r"^(?:no|without|exclude|skip|avoid|nothing with)\s+(.+)$", text):
        return PlanEdit(action="exclude", terms=_split_terms(m.group(1)))
    if m := re.match(r"^(?:remove|drop|forget|delete)\s+(?:the\s+)?(.+)$", text):
        return PlanEdit(action="remove", terms=_split_terms(m.group(1)))
    if m := re.match(r"^(?:add|also add|also|plus|include)\s+(.+)$", text):
        return PlanEdit(action="add", terms=[m.group(1).strip(" .!")[:60]])
    return None


def _at_least(steps: list[tuple[str, list[NeedDraft]]], ranked: list[str], n: int
              ) -> tuple[list[tuple[str, list[NeedDraft]]], list[str]]:
    """(steps, categories added): the ranked categories not chosen yet, in order, appended as one more step
    until the plan names ``n`` distinct needs."""
    chosen = {need.category or need.item for _, needs in steps for need in needs}
    extra = [c for c in ranked if c not in chosen][:max(0, n - len(chosen))]
    if not extra:
        return steps, []
    return [*steps, ("Also worth having", [_catalog_need(c) for c in extra])], extra


def _catalog_need(category: str) -> NeedDraft:
    """A need that is one of the catalog's own categories, kept whole (grounding looks it up by name; Amazon's
    run to hundreds of characters), its words cut to what a need shows."""
    return NeedDraft(item=_need_words(category)[:60], category=category)


def _need_words(category: str) -> str:
    """A category name as a need, in plain words ("Sour-Cream" -> "sour cream")."""
    return category.replace("-", " ").lower()


def _split_terms(text: str) -> list[str]:
    parts = [re.sub(r"^(?:no|without|any)\s+", "", t.strip(" .!")) for t in re.split(r",|\band\b|\bor\b", text)]
    return [p for p in parts if p][:5]


def _mentions(item: str, terms: set[str]) -> bool:
    return any(t in item.lower() for t in terms)


def _merge_repeats(steps: list[tuple[str, list[NeedDraft]]]) -> list[tuple[str, list[NeedDraft]]]:
    """Small models repeat themselves: keep each need (by its words) once, in the first step naming it."""
    seen: set[str] = set()
    merged = []
    for title, needs in steps:
        kept = []
        for need in needs:
            key = " ".join(sorted({*need.item.lower().split(), *(a.lower() for a in need.attributes)}))
            if key not in seen:
                seen.add(key)
                kept.append(need)
        if kept:
            merged.append((title, kept))
    return merged


def _add_need(steps, step: str, need: NeedDraft):
    titles = [title for title, _ in steps]
    if step in titles:
        return [(title, needs + [need] if title == step else needs) for title, needs in steps]
    return steps + [(step, [need])]


def _budget_shares(needs: list[NeedDraft]) -> dict[int, float]:
    """Each need's share of the budget; the draft's shares normalized, equal shares when it gave none."""
    total = sum(n.budget_share for n in needs)
    return {id(n): (n.budget_share / total if total > 0 else 1 / len(needs)) for n in needs}


def _basket(needs: list[GroundedNeed], search: CatalogSearch) -> list[BasketEntry]:
    entries: dict[str, BasketEntry] = {}
    for g in needs:
        if g.chosen is None:
            continue
        item = search.catalog[g.chosen.item_id]  # the catalog's own record, never the model's words
        reason = (f"For '{g.step}': {g.need.item} x{g.need.quantity}; the closest catalog match to "
                  f"'{g.query}' (similarity {g.chosen.score:.2f})")
        if item.id in entries:
            entry = entries[item.id]
            entry.quantity += g.need.quantity
            entry.reason += f"; also {reason[0].lower()}{reason[1:]}"
        else:
            entries[item.id] = BasketEntry(item_id=item.id, title=item.title, quantity=g.need.quantity,
                                           price=item.price, step=g.step, need=g.need.item, reason=reason)
    return list(entries.values())
