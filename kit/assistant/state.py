"""What the assistant remembers between turns: the catalog, the basket, constraints, what it showed last."""

from __future__ import annotations

from pydantic import BaseModel, Field

from kit.bundled_catalogs import DEFAULT_CATALOG
from kit.planning.schema import Plan


class BasketLine(BaseModel):
    item_id: str
    title: str
    quantity: int = 1
    reason: str = ""


class ConversationState(BaseModel):
    catalog: str = DEFAULT_CATALOG
    basket: list[BasketLine] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list, description="words the shopper ruled out, e.g. dairy")
    last_results: list[str] = Field(default_factory=list, description="item ids shown last, in order")
    last_query: str = Field(default="", description="what was searched last, refinements included")
    plan: Plan | None = None
    turns: int = 0

    def add(self, item_id: str, title: str, reason: str = "", quantity: int = 1) -> None:
        for line in self.basket:
            if line.item_id == item_id:
                line.quantity += quantity
                return
        self.basket.append(BasketLine(item_id=item_id, title=title, quantity=quantity, reason=reason))
