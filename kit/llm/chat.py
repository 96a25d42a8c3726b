"""One small chat interface: messages in, text or a validated pydantic object out.

Backends (kit/llm/local.py, kit/llm/openai_http.py) implement one method, ``complete``; everything
else lives here once: input checks, structured output with retries, and the call log.

Structured output, step by step:
1. the pydantic model's JSON schema goes to the backend (constrained decoding for the local model,
   ``response_format`` over HTTP), so the reply should already be schema-valid JSON;
2. the reply is parsed with pydantic (JSON only, never ``eval``);
3. a reply that does not validate is sent back with the validation error and asked for again;
4. after ``retries`` more tries the call raises :class:`StructuredOutputError` with the last reply.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from kit.errors import BadInput, BadModelOutput, KitError

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": "..."}
T = TypeVar("T", bound=BaseModel)
ROLES = ("system", "user", "assistant")


class StructuredOutputError(KitError):
    """The model did not produce output that matches the requested schema."""


@dataclass
class CallRecord:
    """One model call as a notebook shows it: what went in, what came out, how long it took."""

    model: str
    purpose: str
    messages: list[Message]
    reply: str
    parsed: dict | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class CallLog:
    """The calls made for one task (a plan, an evaluation), in order; owned by whoever makes them."""

    records: list[CallRecord] = field(default_factory=list)

    def add(self, record: CallRecord) -> None:
        self.records.append(record)

    def __len__(self) -> int:
        return len(self.records)


def check_messages(messages: list[Message]) -> list[Message]:
    if not messages:
        raise BadInput("a chat needs at least one message")
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise BadInput(f"each message needs a role in {ROLES} and a text content, got {m!r}")
    return [dict(role=m["role"], content=m["content"]) for m in messages]


def extract_json(text: str) -> str:
    """The JSON object inside a reply: strips Markdown fences and prose around the outermost braces."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise BadModelOutput("the reply holds no JSON object")
    return text[start:end + 1]


def schema_for(model: type[BaseModel]) -> dict:
    return model.model_json_schema()


class ChatModel(ABC):
    """A chat model. Subclasses implement :meth:`complete`; callers use :meth:`chat` and :meth:`structured`."""

    name: str = "chat-model"

    @abstractmethod
    def complete(self, messages: list[Message], *, max_new_tokens: int, temperature: float,
                 json_schema: dict | None = None) -> str:
        """The reply text; with ``json_schema`` the backend should constrain the reply to it."""

    def chat(self, messages: list[Message], max_new_tokens: int = 256, temperature: float = 0.0,
             log: CallLog | None = None, purpose: str = "chat") -> str:
        messages = check_messages(messages)
        started = time.perf_counter()
        reply = self.complete(messages, max_new_tokens=max_new_tokens, temperature=temperature)
        if log is not None:
            log.add(CallRecord(self.name, purpose, messages, reply, seconds=time.perf_counter() - started))
        return reply

    def structured(self, messages: list[Message], schema: type[T], *, retries: int = 2, max_new_tokens: int = 512,
                   temperature: float = 0.0, log: CallLog | None = None, purpose: str = "structured") -> T:
        """A ``schema`` instance from the model's reply (see the module docstring for the steps)."""
        history = check_messages(messages)
        json_schema = schema_for(schema)
        last_reply, last_error = "", ""
        for _ in range(retries + 1):
            started = time.perf_counter()
            last_reply = self.complete(history, max_new_tokens=max_new_tokens, temperature=temperature,
                                       json_schema=json_schema)
            record = CallRecord(self.name, purpose, history, last_reply, seconds=time.perf_counter() - started)
            try:
                value = schema.model_validate_json(extract_json(last_reply))
            except (ValidationError, ValueError) as e:
                last_error = _short_error(e)
                record.error = last_error
                if log is not None:
                    log.add(record)
                history = history + [
                    {"role": "assistant", "content": last_reply},
                    {"role": "user", "content": f"That reply is not valid: {last_error}. "
                                                f"Reply again with one JSON object that matches the schema "
                                                f"{json.dumps(json_schema)}"},
                ]
                continue
            record.parsed = value.model_dump()
            if log is not None:
                log.add(record)
            return value
        raise StructuredOutputError(
            f"{self.name} gave no valid {schema.__name__} in {retries + 1} tries; last error: {last_error}; "
            f"last reply: {last_reply[:300]!r}")


def _short_error(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in error.errors()[:5])
    return str(error)
