"""The planner's prompts, in one place, versioned, with few-shot examples written as the schema's
own objects (so an example can never drift from the schema: tests/test_planning.py validates them)."""

from __future__ import annotations

from dataclasses import dataclass

from kit.bundled_catalogs import CATALOG_TABLE, WorkedPlan
from kit.llm.prompting import PromptTemplate
from kit.planning.schema import (CatalogPlanDraft, CatalogStepDraft, NeedDraft, NeedSuggestion, PlanDraft, PlanEdit,
                                 StepDraft)

_PLAN_EXAMPLE = PlanDraft(steps=[
    StepDraft(title="Make breakfast", needs=[NeedDraft(item="eggs", category="dairy and eggs", quantity=1, budget_share=0.2),
                                            NeedDraft(item="bread", quantity=1, budget_share=0.2)]),
    StepDraft(title="Serve drinks", needs=[NeedDraft(item="orange juice", category="drinks", quantity=2, budget_share=0.3),
                                          NeedDraft(item="coffee", quantity=1, budget_share=0.3)]),
])
_TRIP_EXAMPLE = PlanDraft(steps=[
    StepDraft(title="Walk on the beach", needs=[NeedDraft(item="sandals", category="shoes", budget_share=0.3),
                                               NeedDraft(item="shorts", attributes=["light"], budget_share=0.3)]),
    StepDraft(title="Stay in the sun", needs=[NeedDraft(item="sunglasses", budget_share=0.2),
                                             NeedDraft(item="cap", budget_share=0.2)]),
])

PLAN = PromptTemplate(
    name="plan",
    version=2,  # v2: the shop's range sits next to the goal, in the examples too (small models copy the nearest list)
    system=("You plan shopping. Split the shopper's goal into 1 to 3 steps (what they will do) and list what "
            "each step needs. Pick the needs from what the shop sells, in plain words, no brand names. "
            "Reply with JSON only."),
    examples=[("The shop sells: bread, eggs, orange juice, coffee, cheese, tomatoes.\nGoal: breakfast for two on Saturday",
               _PLAN_EXAMPLE.model_dump_json()),
              ("The shop sells: sandals, shorts, sunglasses, caps, t-shirts, jackets.\nGoal: a day at the beach",
               _TRIP_EXAMPLE.model_dump_json())],
    user="The shop sells: {catalog_summary}.\nGoal: {goal}",
)

SUGGEST_NEED = PromptTemplate(
    name="suggest_need",
    version=1,
    system=("You extend a shopping plan. The plan's steps are: {steps}. Propose exactly one more thing to buy "
            "for the shopper's request, in general words (no brand names), and the step it belongs to. "
            "Reply with JSON only."),
    examples=[("Request: add something to drink",
               NeedSuggestion(step="Serve drinks", need=NeedDraft(item="juice")).model_dump_json())],
    user="Request: {request}",
)

EDIT = PromptTemplate(
    name="edit",
    version=1,
    system=("Read a shopper's follow-up to a shopping plan as one edit. action is one of: cheaper (lower "
            "prices), exclude (leave out items matching terms), add (add something; terms say what), remove "
            "(drop needs matching terms), budget (a total budget; amount). Reply with JSON only."),
    examples=[("Follow-up: make it vegan", PlanEdit(action="exclude", terms=["meat", "dairy"]).model_dump_json()),
              ("Follow-up: we also need napkins", PlanEdit(action="add", terms=["napkins"]).model_dump_json()),
              ("Follow-up: keep it under 40 euros", PlanEdit(action="budget", amount=40).model_dump_json())],
    user="Follow-up: {request}",
)



@dataclass(frozen=True)
class PlanExample:
    """A worked plan for the catalog-constrained prompt; the two closest to a goal become its few-shot examples.

    None of these goals is in the planning benchmark (tests/data/planning_goals.jsonl), and every need is a
    real category of its catalog (tests/test_planning.py checks both).
    """

    catalog: str
    goal: str
    shop: list[str]  # what the example's shop line lists: the needs and some it did not choose
    draft: CatalogPlanDraft

    def messages(self) -> tuple[str, str]:
        return PLAN_FROM_CATALOG.user.format(candidates=", ".join(self.shop), goal=self.goal), self.draft.model_dump_json()


def _example(catalog: str, plan: WorkedPlan) -> PlanExample:
    draft = CatalogPlanDraft(steps=[CatalogStepDraft(title=t, needs=list(n)) for t, n in plan.steps])
    shop = [c for _, needs in plan.steps for c in needs] + list(plan.others)
    return PlanExample(catalog, plan.goal, sorted(set(shop)), draft)


PLAN_EXAMPLES = [_example(spec.name, plan) for spec in CATALOG_TABLE.values() for plan in spec.plan_examples]

PLAN_FROM_CATALOG = PromptTemplate(
    name="plan_from_catalog",
    version=1,
    system=("You plan shopping. Split the shopper's goal into 2 or 3 steps (what they will do) and pick what each "
            "step needs from the shop's list. Reply with JSON only."),
    examples=[],  # chosen per goal from PLAN_EXAMPLES by similarity (kit/planning/planner.py)
    user="The shop sells: {candidates}.\nGoal: {goal}",
)

PROMPTS = {t.id: t for t in (PLAN, PLAN_FROM_CATALOG, SUGGEST_NEED, EDIT)}
