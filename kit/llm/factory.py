"""Pick a chat backend from one string, so every command runs with any model.

    local:smollm2-135m-instruct            a registry name (the embedded default)
    local:/path/to/model.gguf              a GGUF file or a transformers folder
    openai:http://localhost:11434/v1/qwen2.5:7b    an OpenAI-compatible server: base URL up to /v1, then the model

The string comes from the argument or, when it is None, from the ``KIT_LLM`` environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

from kit.errors import UnknownModel
from kit.llm.chat import ChatModel
from kit.registry import REGISTRY, ModelRegistry

DEFAULT_LLM = "local:smollm2-135m-instruct"
FORMS = "local:REGISTRY_NAME, local:/path/to/model(.gguf), openai:http://HOST:PORT/v1/MODEL"


def describe_llm(spec: str | None = None) -> str:
    """The spec that :func:`load_chat_model` would use (argument, then $KIT_LLM, then the default)."""
    return spec or os.environ.get("KIT_LLM") or DEFAULT_LLM


def load_chat_model(spec: str | None = None, registry: ModelRegistry = REGISTRY) -> ChatModel:
    spec = describe_llm(spec)
    kind, _, target = spec.partition(":")
    if kind == "openai" and "/v1/" in target:
        from kit.llm.openai_http import OpenAICompatibleChatModel

        base, _, model = target.partition("/v1/")
        return OpenAICompatibleChatModel(base + "/v1", model)
    if kind == "local" and target:
        from kit.llm.local import LocalChatModel

        if target in registry.list_models():
            return LocalChatModel.from_registry(target, registry)
        if Path(target).expanduser().exists():
            return LocalChatModel.from_path(Path(target).expanduser())
        raise UnknownModel(f"{target!r} is neither a chat model in the registry "
                           f"({', '.join(registry.list_models('llm'))}) nor an existing path")
    raise UnknownModel(f"cannot read the LLM spec {spec!r}; use one of: {FORMS}")
