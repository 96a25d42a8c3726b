"""A local chat model with transformers: a GGUF file (the registry's SmolLM2) or any HF causal LM folder.

GGUF weights are de-quantized to float32 by transformers' ``gguf_file`` support (needs the ``gguf``
and ``accelerate`` packages). That takes about 20 s on 2 cores, so the first load also saves the result as
a plain transformers folder in ``$KIT_HOME/cache/llm`` (keyed by the GGUF file's name, size and time), and
later loads read that in a second or two; SmolLM2-135M then answers short prompts in about a second.

Structured output uses constrained decoding (lm-format-enforcer): at every step only the tokens
that keep the reply a valid prefix of the JSON schema are allowed, so even a 135M model returns
schema-valid JSON. The tokenizer's vocabulary is analysed once per model, on the first such call.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Literal

import torch

from kit.errors import KitError, ModelNotAvailable
from kit.files import building
from kit.llm.chat import ChatModel, Message
from kit.registry import REGISTRY, ModelRegistry

Precision = Literal["auto", "float32", "bfloat16"]


class LocalChatModel(ChatModel):
    def __init__(self, name: str, model, tokenizer) -> None:
        self.name, self.model, self.tokenizer = name, model, tokenizer
        self._enforcer_data = None  # lm-format-enforcer's view of the vocabulary, built on first use

    @classmethod
    def from_registry(cls, name: str = "smollm2-135m-instruct", registry: ModelRegistry = REGISTRY,
                      dtype: Precision = "auto") -> "LocalChatModel":
        spec = registry.get(name)
        if spec.kind != "llm":
            raise KitError(f"{name!r} is not a chat model; chat models: {registry.list_models('llm')}")
        resolved = registry.resolve(name)
        return cls.from_path(resolved.weights_path if resolved.weights_path.suffix == ".gguf" else resolved.path, name,
                             dtype)

    @classmethod
    def from_path(cls, path: str | Path, name: str | None = None, dtype: Precision = "auto") -> "LocalChatModel":
        """A GGUF file, or a folder with a transformers causal LM (config.json, weights, tokenizer).

        ``dtype``: "auto" is bfloat16 where the CPU computes it natively (AVX512-BF16/AMX; a 135M model then
        decodes about twice as fast, since decoding is bound by reading the weights) or a GPU is used, else
        float32. Training code asks for "float32" explicitly."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(path)
        if not path.exists():
            raise ModelNotAvailable(f"no local language model at {path}: give a .gguf file or a transformers folder")
        if path.suffix == ".gguf":
            plain = _plain_copy(path)
            with building(plain):  # a second process waits for the first one's copy instead of making its own
                if not plain.is_dir():  # de-quantize once and keep the plain copy for the next load
                    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
                    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name).eval()
                    loaded = cls(name or path.name, model, tokenizer)
                    _keep(loaded, plain)
                    loaded.model = model.to(resolve_precision(dtype))
                    return loaded
            path = plain
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        model = AutoModelForCausalLM.from_pretrained(str(path)).eval()
        model = model.to(resolve_precision(dtype))
        return cls(name or path.name, model, tokenizer)

    def save_plain(self, folder: str | Path) -> Path:
        """This model as a plain transformers folder (float32 safetensors, tokenizer, chat template), which any
        OpenAI-compatible server can load (``transformers serve FOLDER``, vLLM). A GGUF-loaded model refuses
        ``save_pretrained``, so the weights are copied into a fresh model built from the same config."""
        from transformers import AutoModelForCausalLM

        folder = Path(folder)
        config = copy.deepcopy(self.model.config)
        if hasattr(config, "quantization_config"):
            del config.quantization_config  # the weights are already de-quantized to float32
        plain = AutoModelForCausalLM.from_config(config)
        plain.load_state_dict(self.model.state_dict())
        plain.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        return folder

    def complete(self, messages: list[Message], *, max_new_tokens: int = 256, temperature: float = 0.0,
                 json_schema: dict | None = None, seed: int = 0) -> str:
        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
        ids = ids if isinstance(ids, torch.Tensor) else ids["input_ids"]
        torch.manual_seed(seed)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        if json_schema is not None:
            sampling["prefix_allowed_tokens_fn"] = self._json_constraint(json_schema, ids.shape[1])
        with torch.no_grad():
            out = self.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                      pad_token_id=self.tokenizer.eos_token_id, **sampling)
        return self.tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True).strip()

    def _json_constraint(self, json_schema: dict, prompt_length: int):
        """A ``prefix_allowed_tokens_fn`` that allows only continuations valid under ``json_schema``."""
        from lmformatenforcer import JsonSchemaParser, TokenEnforcer

        if self._enforcer_data is None:
            self._enforcer_data = enforcer_tokenizer_data(self.tokenizer)
        enforcer = TokenEnforcer(self._enforcer_data, JsonSchemaParser(json_schema))

        def allowed(batch_id: int, sent: torch.Tensor) -> list[int]:
            return enforcer.get_allowed_tokens(sent[prompt_length:].tolist()).allowed_tokens

        return allowed


def _plain_copy(gguf: Path) -> Path:
    """Where the de-quantized copy of ``gguf`` lives: a new file (another size or time) gets a new folder."""
    from kit.config import kit_home

    stat = gguf.stat()
    return kit_home() / "cache" / "llm" / f"{gguf.stem}-{stat.st_size}-{stat.st_mtime_ns}"


def _keep(model: "LocalChatModel", folder: Path) -> None:
    """Save the plain copy into a temporary folder, then rename it: a killed run leaves no half folder."""
    import logging
    import shutil
    import tempfile

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        model.save_plain(tmp)
        tmp.rename(folder)
    except OSError as error:  # a full or read-only disk: the model still works, the next load de-quantizes again
        logging.getLogger(__name__).warning("could not keep a plain copy of %s: %s", model.name, error)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def resolve_precision(dtype: Precision) -> torch.dtype:
    """The torch dtype for ``dtype`` ("auto": bfloat16 when this machine computes it natively, else float32)."""
    if dtype == "auto":
        native = torch.cuda.is_available() or (torch.backends.mkldnn.is_available()
                                                and torch.ops.mkldnn._is_mkldnn_bf16_supported())
        return torch.bfloat16 if native else torch.float32
    if dtype not in ("float32", "bfloat16"):
        raise KitError(f"dtype must be 'auto', 'float32' or 'bfloat16', got {dtype!r}")
    return getattr(torch, dtype)


def enforcer_tokenizer_data(tokenizer):
    """lm-format-enforcer's vocabulary table for a transformers tokenizer.

    Built from the library's core API because its transformers integration does not import under
    transformers 5. Each regular token is decoded after a "0" token, which shows whether the token
    starts a new word (a leading space), as the library's own integrations do.
    """
    from lmformatenforcer import TokenEnforcerTokenizerData

    vocab_size = len(tokenizer)
    special = set(tokenizer.all_special_ids)
    zero = tokenizer.encode("0", add_special_tokens=False)[-1]
    ids = [i for i in range(vocab_size) if i not in special]
    after_zero = tokenizer.batch_decode([[zero, i] for i in ids])
    alone = tokenizer.batch_decode([[i] for i in ids])
    regular = [(i, a[1:], len(a) - 1 > len(b)) for i, a, b in zip(ids, after_zero, alone)]

    def decode(tokens: list[int]) -> str:
        return tokenizer.decode(tokens).rstrip("\ufffd")

    return TokenEnforcerTokenizerData(regular, decode, tokenizer.eos_token_id, False, vocab_size)
