"""The records of a plan. ``*Draft`` models are what the LLM writes (their JSON schema constrains its
decoding); the grounded ``Plan`` is what the kit builds from a draft and the catalog.

Nothing in a ``Plan`` is invented: every basket entry's ``item_id`` is a catalog id, copied from a
search result, and a need without a catalog match is listed in ``unmatched`` with the reason.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, Field, computed_field, create_model

from kit.errors import BadInput


Word = Annotated[str, Field(min_length=1, max_length=30)]
NeedsMode = Literal["catalog", "free", "ranked"]  # where a plan's needs come from (kit/planning/planner.py)


class NeedDraft(BaseModel):
    item: str = Field(min_length=1, max_length=60, description="what to buy, in a few plain words")
    # a model's own word ("drinks") or one of the catalog's categories, which can be long (Amazon's paths)
    category: str = Field(default="", max_length=1000, description="the kind of product, e.g. drinks, shoes")
    attributes: list[Word] = Field(default_factory=list, max_length=3, description="e.g. colour, size, style")
    quantity: int = Field(default=1, ge=1, le=12)
    budget_share: float = Field(default=0.0, ge=0.0, le=1.0, description="share of the total budget")


class StepDraft(BaseModel):
    title: str = Field(min_length=1, max_length=80, description="what the person will do")
    needs: list[NeedDraft] = Field(min_length=1, max_length=4)


class PlanDraft(BaseModel):
    """The LLM's proposal: steps and what each step needs, in general terms (no product names)."""

    steps: list[StepDraft] = Field(min_length=1, max_length=4)


class CatalogStepDraft(BaseModel):
    """A step whose needs are catalog category names (the enum that :func:`catalog_plan_schema` sets)."""

    title: str = Field(min_length=1, max_length=40, description="what the person will do, in a few words")
    needs: list[str] = Field(min_length=2, max_length=3)


class CatalogPlanDraft(BaseModel):
    """The compact draft the catalog-constrained planner asks for: 2-3 steps, 2-3 category names each.

    Short on purpose: every token costs about 45 ms on 2 cores, and this shape keeps a plan near 50 tokens
    while guaranteeing at least 4 needs.
    """

    steps: list[CatalogStepDraft] = Field(min_length=2, max_length=3)


def catalog_plan_schema(categories: list[str]) -> type[CatalogPlanDraft]:
    """:class:`CatalogPlanDraft` with ``needs`` restricted to ``categories`` (a JSON-schema enum).

    Constrained decoding then cannot produce a need the catalog does not have.
    """
    if not categories:
        raise BadInput("a catalog-constrained plan needs at least one category to choose from; this catalog has none")
    name = Literal[tuple(categories)]  # type: ignore[valid-type]
    step = create_model("CatalogStep", __base__=CatalogStepDraft,
                        needs=(list[name], Field(min_length=2, max_length=3)))
    return create_model("CatalogPlan", __base__=CatalogPlanDraft,
                        steps=(list[step], Field(min_length=2, max_length=3)))


class NeedSuggestion(BaseModel):
    """The LLM's answer to 'add something for dessert': one more need."""

    step: str = Field(min_length=1, max_length=80)
    need: NeedDraft


class Constraints(BaseModel):
    """What the shopper asked for along the way; re-applied on every grounding."""

    exclude: list[str] = Field(default_factory=list, description="words an item must not match, e.g. dairy")
    max_total: float | None = Field(default=None, ge=0)
    prefer_cheaper: bool = False


class Match(BaseModel):
    item_id: str
    title: str
    score: float
    price: float | None = None


class GroundedNeed(BaseModel):
    step: str
    need: NeedDraft
    query: str
    matches: list[Match] = Field(default_factory=list)
    chosen: Match | None = None
    note: str = ""


class BasketEntry(BaseModel):
    item_id: str
    title: str
    quantity: int
    price: float | None
    step: str
    need: str
    reason: str

    @computed_field
    @property
    def id(self) -> str:
        """The catalog item id (the same as ``item_id``), under the name catalogs use."""
        return self.item_id


class PlanStep(BaseModel):
    title: str
    needs: list[GroundedNeed]


class Plan(BaseModel):
    goal: str
    catalog: str
    model: str
    prompt_version: str
    steps: list[PlanStep]
    basket: list[BasketEntry]
    unmatched: list[str] = Field(default_factory=list)
    constraints: Constraints = Field(default_factory=Constraints)
    notes: list[str] = Field(default_factory=list, description="what the kit could not honour, and why")
    history: list[str] = Field(default_factory=list, description="the steering requests applied, in order")

    @property
    def total(self) -> float | None:
        prices = [e.price * e.quantity for e in self.basket if e.price is not None]
        return round(sum(prices), 2) if prices else None

    def to_json(self) -> str:
        return json.dumps(self.model_dump() | {"total": self.total}, indent=2, ensure_ascii=False)

    def to_markdown(self) -> str:
        """The plan as a person reads it: numbered steps, each need with the product chosen for it, notes.

        The one rendering of a plan: the assistant's reply, the app's plan panel and the CLI all use it.
        """
        lines = [f"**Plan for {self.goal}** (model `{self.model}`)"]
        for number, step in enumerate(self.steps, start=1):
            lines.append(f"{number}. **{step.title}**")
            lines += [f"   - {g.need.item} × {g.need.quantity}: " + (g.chosen.title if g.chosen else
                      f"_not in this catalog{': ' + g.note if g.note else ''}_") for g in step.needs]
        if self.total is not None:
            lines.append(f"Total: {self.total:.2f}")
        lines += [f"> {note}" for note in self.notes]
        return "\n".join(lines)


class PlanEdit(BaseModel):
    """A steering request read as an edit ("cheaper", "no dairy", "add something for dessert")."""

    action: Literal["cheaper", "exclude", "add", "remove", "budget"]
    terms: list[Word] = Field(default_factory=list, max_length=5)
    amount: float | None = Field(default=None, ge=0)
