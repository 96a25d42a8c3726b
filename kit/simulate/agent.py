"""The LLM agent: a chat model role-plays the shopper (RecAgent, Agent4Rec, RecAI's user simulator).

It reads the shopper's profile and a numbered page, and answers with one structured decision: click an item,
add one to the basket, skip the page or leave, with a reason. The reply is a JSON object checked by a pydantic
schema built for the page's length (the local model decodes under that schema); a reply that names no item for
a click, or an item for a skip, is sent back once more. A model that still gives no valid decision counts as a
skip, and ``failures`` says how often that happened, so a weak model shows up as weak instead of crashing a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field, create_model, model_validator

from kit.llm.chat import CallLog, ChatModel, StructuredOutputError
from kit.llm.prompting import quote_data
from kit.simulate.decisions import Action, Decision
from kit.simulate.shoppers import Shopper, short_title
from kit.errors import BadModelOutput

SYSTEM = ("You are role-playing one shopper of an online shop for industrial and scientific supplies. You are "
          "shown a page of items. Decide like this shopper would, from what they bought before. Reply with one "
          "JSON object: action is click (look at one item), basket (add one item to the basket), skip (nothing "
          "here, show me more) or leave (leave the shop); item is the number of the item you click or add, or 0 "
          "when you skip or leave; reason is a few words.")


class _Reply(BaseModel):
    action: Action
    item: int
    reason: str

    @model_validator(mode="after")
    def _item_matches_action(self) -> "_Reply":
        if self.action in ("click", "basket") and self.item == 0:
            raise BadModelOutput(f"{self.action} needs the number of an item")
        if self.action in ("skip", "leave") and self.item != 0:
            raise BadModelOutput(f"{self.action} takes item 0")
        return self


@lru_cache(maxsize=None)
def reply_schema(page_size: int) -> type[_Reply]:
    """The reply schema for a page of ``page_size`` items: item numbers 0..page_size, a short reason."""
    return create_model(f"ShopperReply{page_size}", __base__=_Reply,
                        action=(Literal["click", "basket", "skip", "leave"], ...),
                        item=(int, Field(ge=0, le=page_size)), reason=(str, Field(min_length=1, max_length=40)))


def page_prompt(shopper: Shopper, page: list[int], texts: list[str]) -> str:
    lines = [shopper.profile, "", "The page shows:"]
    lines += [f"{n}. {quote_data(short_title(texts[item], 50), 60)}" for n, item in enumerate(page, start=1)]
    lines.append("What do you do?")
    return "\n".join(lines)


@dataclass
class LLMShopper:
    chat: ChatModel
    texts: list[str]
    retries: int = 1
    log: CallLog | None = None
    failures: int = 0
    decisions: int = 0
    name: str = field(init=False, default="llm")

    def __post_init__(self) -> None:
        self.name = f"llm ({self.chat.name})"

    def decide(self, shopper: Shopper, page: list[int]) -> Decision:
        messages = [{"role": "system", "content": SYSTEM},
                    {"role": "user", "content": page_prompt(shopper, page, self.texts)}]
        self.decisions += 1
        try:
            reply = self.chat.structured(messages, reply_schema(len(page)), retries=self.retries, max_new_tokens=80,
                                         log=self.log, purpose="simulated shopper")
        except StructuredOutputError as error:
            self.failures += 1
            return Decision(action="skip", reason=f"no valid decision from the model ({str(error)[:100]})")
        item = page[reply.item - 1] if reply.item else None
        return Decision(action=reply.action, item=item, reason=reply.reason)
