"""Goals become grounded plans: the LLM proposes steps and needs, the catalog supplies the items.

    planner = Planner(load_chat_model(), CatalogSearch.build(open_catalog("grocery_store"), encoder))
    plan = planner.plan("I'm hosting a brunch for four on Sunday")
    plan = planner.steer(plan, "no dairy")        # edits the plan; the old one is left as it was

``plan`` in numbered steps:
1. render the versioned prompt (with what the catalog sells) and ask for a ``PlanDraft``
   (schema-constrained, validated, retried: kit/llm/chat.py);
2. merge needs the draft repeats;
3. ground every need through kit.search (kit/planning/grounding.py) under the constraints;
4. build the basket from the chosen catalog items, with a reason per item.
Every model call is appended to ``planner.log`` for notebooks to show.
"""

from __future__ import annotations

import re
from collections import Counter

from kit.llm.chat import CallLog, ChatModel
from kit.llm.prompting import quote_data
from kit.planning.grounding import ground_need
from kit.planning.prompts import EDIT, PLAN, SUGGEST_NEED
from kit.planning.schema import (BasketEntry, Constraints, GroundedNeed, NeedDraft, NeedSuggestion, Plan, PlanDraft,
                                 PlanEdit, PlanStep)
from kit.search.engine import CatalogSearch

EXTRA_STEP = "Extras"


class Planner:
    def __init__(self, llm: ChatModel, search: CatalogSearch, matches_per_need: int = 3,
                 min_similarity: float = 0.6) -> None:
        self.llm, self.search = llm, search
        self.matches_per_need, self.min_similarity = matches_per_need, min_similarity
        self.log = CallLog()

    # -- planning ------------------------------------------------------------------------------------
    def plan(self, goal: str, constraints: Constraints | None = None) -> Plan:
        goal = quote_data(goal, limit=300)
        if not goal:
            raise ValueError("the goal is empty; say what you are planning, e.g. 'brunch for four on Sunday'")
        # 1. ask for a draft
        messages = PLAN.render(goal=goal, catalog_summary=self.catalog_summary())
        draft = self.llm.structured(messages, PlanDraft, log=self.log, purpose=PLAN.id)
        # 2. merge repeated needs, 3. ground them, 4. build the basket
        steps = [(s.title, s.needs) for s in draft.steps]
        return self._build(goal, _merge_repeats(steps), constraints or Constraints(), notes=[], history=[])

    def catalog_summary(self, limit: int = 30) -> str:
        """The catalog's most common categories, as data for the prompt."""
        counts = Counter(item.category for item in self.search.catalog if item.category)
        return ", ".join(quote_data(name, 40) for name, _ in counts.most_common(limit)) or "assorted products"

    # -- steering ------------------------------------------------------------------------------------
    def steer(self, plan: Plan, request: str) -> Plan:
        """``plan`` edited by a follow-up ("cheaper", "no dairy", "add something for dessert")."""
        request = quote_data(request, limit=200)
        if not request:
            raise ValueError("the follow-up is empty")
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
        return self._build(plan.goal, steps, constraints, notes, plan.history + [request])

    def _new_need(self, request: str, terms: list[str], step_titles: list[str]) -> tuple[str, NeedDraft]:
        concrete = [t for t in terms if not re.search(r"\b(something|anything|stuff|more)\b", t)]
        if concrete:
            return EXTRA_STEP, NeedDraft(item=concrete[0][:60])
        messages = SUGGEST_NEED.render(request=request, steps="; ".join(quote_data(t, 60) for t in step_titles))
        suggestion = self.llm.structured(messages, NeedSuggestion, log=self.log, purpose=SUGGEST_NEED.id)
        return suggestion.step, suggestion.need

    # -- grounding -----------------------------------------------------------------------------------
    def _build(self, goal: str, steps: list[tuple[str, list[NeedDraft]]], constraints: Constraints,
               notes: list[str], history: list[str]) -> Plan:
        shares = _budget_shares([n for _, needs in steps for n in needs])
        plan_steps = []
        for title, needs in steps:
            grounded = []
            for need in needs:
                max_price = None
                if constraints.max_total is not None:
                    max_price = constraints.max_total * shares[id(need)] / need.quantity
                grounded.append(ground_need(self.search, title, need, constraints, max_price=max_price,
                                            k=self.matches_per_need, min_similarity=self.min_similarity))
            plan_steps.append(PlanStep(title=title, needs=grounded))
        all_needs = [g for s in plan_steps for g in s.needs]
        return Plan(goal=goal, catalog=self.search.catalog.name, model=self.llm.name, prompt_version=PLAN.id,
                    steps=plan_steps, basket=_basket(all_needs, self.search),
                    unmatched=[g.note for g in all_needs if g.chosen is None], constraints=constraints,
                    notes=notes, history=history)


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
