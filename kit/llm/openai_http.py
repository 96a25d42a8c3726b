"""An OpenAI-compatible chat backend over HTTP: Ollama, vLLM, llama.cpp's server and hosted APIs.

Only the standard library is used (``urllib``). Structured output asks the server for
``response_format = {"type": "json_schema", ...}``; servers that ignore it still get their reply
validated and retried by :meth:`kit.llm.chat.ChatModel.structured`.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

from kit.errors import KitError, ModelNotAvailable
from kit.llm.chat import ChatModel, Message


class OpenAICompatibleChatModel(ChatModel):
    def __init__(self, base_url: str, model: str, api_key_env: str = "OPENAI_API_KEY", timeout: float = 120.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise KitError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.base_url, self.model, self.timeout = base_url.rstrip("/"), model, timeout
        self.api_key = os.environ.get(api_key_env)  # read once; never logged
        self.name = f"{model} @ {self.base_url}"

    def complete(self, messages: list[Message], *, max_new_tokens: int = 256, temperature: float = 0.0,
                 json_schema: dict | None = None) -> str:
        body: dict = {"model": self.model, "messages": messages, "max_tokens": max_new_tokens,
                      "temperature": temperature}
        if json_schema is not None:
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": json_schema.get("title", "reply"),
                                                       "schema": json_schema, "strict": True}}
        reply = self._post("/chat/completions", body)
        try:
            return reply["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as e:
            raise KitError(f"{self.base_url} answered without choices[0].message.content: {str(reply)[:200]}") from e

    def _post(self, path: str, body: dict) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.base_url + path, data=json.dumps(body).encode(), headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode())
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")[:300]
            raise KitError(f"{self.base_url}{path} answered HTTP {e.code}: {detail}") from e
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            raise ModelNotAvailable(f"cannot reach the chat server at {self.base_url} ({e}); is it running?") from e
        except json.JSONDecodeError as e:
            raise KitError(f"{self.base_url}{path} answered with something that is not JSON") from e
