"""A local chat model with transformers: a GGUF file (the registry's SmolLM2) or any HF causal LM folder.

GGUF weights are de-quantized to float32 by transformers' ``gguf_file`` support (needs the ``gguf``
and ``accelerate`` packages); SmolLM2-135M loads in about 20 s on 2 cores and then answers short
prompts in about a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from kit.errors import BadInput, KitError
from kit.registry import REGISTRY, ModelRegistry

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": "..."}


@dataclass
class LocalChatModel:
    name: str
    model: "object"
    tokenizer: "object"

    @classmethod
    def from_registry(cls, name: str = "smollm2-135m-instruct", registry: ModelRegistry = REGISTRY) -> "LocalChatModel":
        spec = registry.get(name)
        if spec.kind != "llm":
            raise KitError(f"{name!r} is not a chat model; chat models: {registry.list_models('llm')}")
        resolved = registry.resolve(name)
        return cls.from_path(resolved.weights_path if resolved.weights_path.suffix == ".gguf" else resolved.path, name)

    @classmethod
    def from_path(cls, path: str | Path, name: str | None = None) -> "LocalChatModel":
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(path)
        if path.suffix == ".gguf":
            kwargs = {"gguf_file": path.name}
            folder = str(path.parent)
        else:
            kwargs, folder = {}, str(path)
        tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(folder, **kwargs).eval()
        return cls(name or path.name, model, tokenizer)

    def chat(self, messages: list[Message], max_new_tokens: int = 128, temperature: float = 0.0, seed: int = 0) -> str:
        """The assistant's reply to ``messages`` (greedy when temperature is 0)."""
        if not messages:
            raise BadInput("chat needs at least one message")
        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
        ids = ids if isinstance(ids, torch.Tensor) else ids["input_ids"]
        torch.manual_seed(seed)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        with torch.no_grad():
            out = self.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                      pad_token_id=self.tokenizer.eos_token_id, **sampling)
        return self.tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True).strip()
