"""Prompt templates as data, and the one rule for untrusted text.

A template has a name, a version (bump it when the wording changes, so logged calls and benchmark
tables say which prompt produced them), a system message, few-shot examples and a user message
with ``{placeholders}`` (filled in both the system and the user message).

Untrusted text (product titles and descriptions, a user's history) only enters a prompt through
:func:`quote_data`: one line, no control characters, no braces or angle brackets, cut to a length,
placed inside a data block the system message tells the model to treat as data. Together with
schema-constrained output this keeps text such as "ignore previous instructions" from changing the
reply's format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kit.llm.chat import Message

_UNSAFE = re.compile(r"[\x00-\x1f\x7f{}<>`]+")


def quote_data(text: str, limit: int = 120) -> str:
    """``text`` made safe to place inside a data block: one line, no markup characters, at most ``limit``."""
    clean = " ".join(_UNSAFE.sub(" ", str(text)).split())
    return clean if len(clean) <= limit else clean[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: int
    system: str
    user: str
    examples: list[tuple[str, str]] = field(default_factory=list)  # (user message, assistant reply)

    @property
    def id(self) -> str:
        return f"{self.name}.v{self.version}"

    def render(self, **values: str) -> list[Message]:
        messages: list[Message] = [{"role": "system", "content": self.system.format(**values)}]
        for user, reply in self.examples:
            messages += [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
        messages.append({"role": "user", "content": self.user.format(**values)})
        return messages
