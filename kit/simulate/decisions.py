"""What a simulated shopper does with one page of items, and the interface every simulator implements."""

from __future__ import annotations

from typing import Literal, Protocol, get_args

from pydantic import BaseModel, Field

from kit.simulate.shoppers import Shopper

Action = Literal["click", "basket", "skip", "leave"]
ACTIONS: tuple[str, ...] = get_args(Action)  # click and basket pick an item; skip and leave do not


class Decision(BaseModel):
    """One shopper's reaction to one page: an action, the item it is about (None for skip/leave), and why."""

    action: Action
    item: int | None = Field(None, description="the chosen item's catalog index; None when skipping or leaving")
    reason: str = Field("", max_length=200)

    @property
    def chose(self) -> bool:
        return self.action in ("click", "basket")


class Simulator(Protocol):
    name: str

    def decide(self, shopper: Shopper, page: list[int]) -> Decision:
        """What ``shopper`` does with ``page`` (catalog indices, in the order shown)."""
