"""The chat model learns the items: one new token per code, LoRA, and tasks made from the real sequences.

Every ``(level, code)`` of the semantic IDs becomes a token ``<|sid_{level}_{code}|>`` added to the
chat model's tokenizer (its embedding row starts at the mean of the existing rows), so an item is
spelled as ``L + 1`` tokens. peft trains LoRA adapters on the attention and MLP projections plus the new
token rows only (``trainable_token_indices``), on a weighted mixture of tasks built from the data
(kit/semids/item_tasks.py: next item, title <-> ID, would-buy Yes/No, steered by a constraint, a reply).

Generation of IDs is constrained by the same prefix trie as the generative retriever, so the model
never names an item that does not exist; free text that contains IDs is decoded back to titles and
every ID is checked against the table (:meth:`ItemChat.reply`). Prompts are short plain text, not
the chat template: on 2 CPU cores every token of a training example costs time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import torch

from kit.errors import BadInput, KitError
from kit.llm.local import resolve_precision
from kit.semids.codes import SemanticIds
from kit.semids.item_tasks import (ItemFacts, TaskContext, draw_examples, next_item_prompt, short_title, spell,
                                   would_buy_prompt)
from kit.sequences import SequenceData
from kit.training import Trainable

TOKEN = re.compile(r"<\|sid_(\d+)_(\d+)\|>")


def default_mixture() -> dict[str, float]:
    """The tasks' shares of training examples: mostly the recommendation tasks, enough naming to ground the IDs."""
    return {"next_item": 0.35, "title_to_id": 0.15, "id_to_title": 0.1, "would_buy": 0.2, "steered": 0.15,
            "reply": 0.05}


class AdapterMismatch(KitError):
    """An adapter trained for other semantic IDs or another base model than the ones it is loaded with."""


@dataclass
class ChatItemsConfig:
    rank: int = 16
    alpha: int = 32
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    tasks: dict[str, float] = field(default_factory=default_mixture)
    steps_per_epoch: int = 50  # CPU default: 100 steps, about 2.4 s each on 2 cores (packed); on a GPU use 20 x 200
    epochs: int = 2
    patience: int | None = 2  # None: the clock or the epoch count ends the run
    batch_size: int = 8
    # 1e-3 after 20 warm-up steps, gradients clipped to norm 1: the 2e-3 run without either plateaued at a loss of
    # ~2.9 and diverged after 40 minutes (2.83 -> 4.16 in one epoch; docs/bench/tuned-llm.json, stop 39)
    lr: float = 1e-3
    warmup_steps: int = 20
    max_grad_norm: float | None = 1.0
    history_items: int = 5
    title_words: int = 10
    valid_users: int = 30
    seed: int = 0
    # The forward's compute type ("auto": bfloat16 where the hardware has it natively). float32 by default: on the
    # 2-core CPU (AVX512-BF16) a bfloat16-autocast step took 49 s against 2.4 s, its backward 35x slower.
    precision: str = "float32"


def token_names(ids: SemanticIds) -> list[str]:
    """One token per code and level, the de-duplication level last."""
    sizes = [ids.codebook_size] * ids.levels + [ids.dedup_size]
    return [f"<|sid_{level}_{code}|>" for level, size in enumerate(sizes) for code in range(size)]


@dataclass
class ItemReply:
    """A reply with its item IDs decoded: ``text`` shows titles where the model wrote IDs."""

    text: str
    items: list[int] = field(default_factory=list)
    invalid_ids: int = 0  # ID spellings that name no item (dropped from ``text``)


class ItemChat(Trainable):
    """A causal LM (SmolLM2 by default) whose vocabulary speaks the catalog's semantic IDs."""

    def __init__(self, model, tokenizer, ids: SemanticIds, config: ChatItemsConfig, facts: ItemFacts | None = None,
                 base_name: str = "") -> None:
        """``facts``: the catalog's brand and category per item (the steered task's constraints); ``base_name``:
        the base model's registry name, part of the adapter's fingerprint."""
        from peft import LoraConfig, get_peft_model

        super().__init__()
        self.ids, self.config, self.tokenizer = ids, config, tokenizer
        self.facts = facts or ItemFacts.none(len(ids.codes))
        self.base_name = base_name
        self._tokens, self._started, self._seconds = 0, 0.0, 0.0
        # the prompts at inference read only the IDs (and titles from the IDs' own texts)
        self.prompts = TaskContext(ids, SequenceData(texts=list(ids.texts)), self.facts, config.history_items,
                                   config.title_words)
        names = token_names(ids)
        tokenizer.add_tokens(names)
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        self.item_token_ids = tokenizer.convert_tokens_to_ids(names)
        with torch.no_grad():
            rows = model.get_input_embeddings().weight
            rows[self.item_token_ids] = rows[: self.item_token_ids[0]].mean(dim=0)
        self._token_of = {name: token for name, token in zip(names, self.item_token_ids)}
        lora = LoraConfig(r=config.rank, lora_alpha=config.alpha, lora_dropout=0.0,
                          target_modules=list(config.target_modules),
                          trainable_token_indices={"embed_tokens": self.item_token_ids})
        self.model = get_peft_model(model, lora)
        self._trie = self._token_trie()

    # --- only the trained parameters are state (LoRA and the new token rows), not the 135M frozen ones ---
    def state_dict(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        return {name: p.detach().clone() for name, p in self.named_parameters() if p.requires_grad}

    def load_state_dict(self, state: dict[str, torch.Tensor], strict: bool = True, assign: bool = False):
        params = dict(self.named_parameters())
        missing = [name for name in state if name not in params]
        if missing and strict:
            raise BadInput(f"unknown parameters {missing[:3]}")
        with torch.no_grad():
            for name, value in state.items():
                params[name].copy_(value)

    # --- the tasks ---
    def fingerprint(self) -> dict[str, str]:
        """What an adapter only fits: its base model and the semantic IDs its new tokens spell."""
        return {"base": self.base_name, "ids": self.ids.digest()}

    def check_fingerprint(self, saved: dict[str, str], source: str) -> None:
        mine = self.fingerprint()
        wrong = [f"{key} {saved.get(key)!r} (here {mine[key]!r})" for key in mine if saved.get(key) != mine[key]]
        if wrong:
            raise AdapterMismatch(f"{source} was trained for another " + " and ".join(wrong) + "; train one for these "
                                  "with `python -m kit llm tune` or load the IDs and base model it was trained on")

    def context(self, data: SequenceData) -> TaskContext:
        return TaskContext(self.ids, data, self.facts, self.config.history_items, self.config.title_words)

    def examples(self, data: SequenceData, split: str, rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
        """``n`` (prompt, answer) pairs drawn from ``split``, tasks in the shares of ``config.tasks``."""
        return draw_examples(self.context(data), data.splits[split], self.config.tasks, rng, n)

    def next_item_prompt(self, history: tuple[int, ...]) -> str:
        return next_item_prompt(self.prompts, history)

    # --- training ---
    def loss(self, batch: list[tuple[str, str]]) -> torch.Tensor:
        """Causal LM loss on the answers only (prompt tokens are context, not targets).

        The batch is packed into one row without padding (:meth:`pack`): positions restart at 0 for every example,
        from which transformers builds a block-diagonal causal mask, so no example sees another. The vocabulary
        projection (49k rows) runs only where an answer token is predicted, most tokens being prompt. Measured on
        2 CPU cores with SmolLM2-135M, batches of 8: 2.77 s a step padded, 2.39 s packed. Under ``precision``
        bfloat16 the forward computes in bfloat16 (autocast) while the weights stay float32."""
        device = self.model.get_input_embeddings().weight.device
        tokens, positions, predict_at, targets = (t.to(device) for t in self.pack(batch))
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.compute_dtype == torch.bfloat16):
            logits = self.model(input_ids=tokens, position_ids=positions, logits_to_keep=predict_at,
                                use_cache=False).logits[0]
        return torch.nn.functional.cross_entropy(logits.float(), targets)

    def pack(self, batch: list[tuple[str, str]]) -> tuple[torch.Tensor, ...]:
        """One row for the whole batch: (tokens, their positions within their own example, the row positions that
        predict an answer token, those answer tokens). Each answer ends with the end-of-sequence token."""
        eos = self.tokenizer.eos_token_id
        tokens: list[int] = []
        positions: list[int] = []
        predict_at: list[int] = []
        targets: list[int] = []
        for prompt, answer in batch:
            p = self.tokenizer(prompt, add_special_tokens=False).input_ids
            a = self.tokenizer(answer, add_special_tokens=False).input_ids + [eos]
            self._tokens += len(p) + len(a)
            start = len(tokens) + len(p)
            predict_at += range(start - 1, start + len(a) - 1)  # the token at t predicts the one at t + 1
            targets += a
            tokens += p + a
            positions += range(len(p) + len(a))
        return torch.tensor([tokens]), torch.tensor([positions]), torch.tensor(predict_at), torch.tensor(targets)

    @property
    def compute_dtype(self) -> torch.dtype:
        return resolve_precision(self.config.precision)

    def on_epoch_start(self, epoch: int) -> None:
        import time

        self._tokens, self._started = 0, time.perf_counter()

    def on_epoch_end(self, epoch: int) -> None:
        import time

        self._seconds = time.perf_counter() - self._started  # the steps only, not the validation after them

    def epoch_stats(self) -> dict[str, float]:
        return {"tokens/s": self._tokens / max(self._seconds, 1e-9)}

    def configure_optimizers(self) -> torch.optim.Optimizer:
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=self.config.lr, weight_decay=0.0)
        warmup = max(1, self.config.warmup_steps)
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))

    # --- generation ---
    def _token_trie(self) -> dict[tuple[int, ...], list[int]]:
        table = {}
        for prefix, allowed in self.ids.prefix_trie().items():
            table[tuple(self._model_token(t) for t in prefix)] = [self._model_token(t) for t in allowed]
        return table

    def _model_token(self, table_token: int) -> int:
        """The chat model's token id for a token of :meth:`SemanticIds.tokens` (same level and code)."""
        offset = table_token - 2
        level = min(offset // self.ids.codebook_size, self.ids.levels)
        code = offset - level * self.ids.codebook_size
        return self._token_of[f"<|sid_{level}_{code}|>"]

    def _item_of(self, model_tokens: list[int]) -> int | None:
        text = self.tokenizer.decode(model_tokens)
        codes = tuple(int(code) for _, code in TOKEN.findall(text))
        return self.ids.item_of_codes(codes)

    @torch.no_grad()
    def recommend(self, histories: list[tuple[int, ...]], k: int = 10, constrained: bool = True
                  ) -> tuple[list[list[int]], float]:
        """Top-``k`` items per history by beam search over item tokens, and the share of invalid IDs."""
        return self.recommend_prompts([self.next_item_prompt(h) for h in histories], k, constrained)

    @torch.no_grad()
    def recommend_prompts(self, prompts: list[str], k: int = 10, constrained: bool = True
                          ) -> tuple[list[list[int]], float]:
        """Top-``k`` items after each prompt (a history, or a history and a constraint in words) by beam search
        over item tokens, constrained to real IDs by default; and the share of invalid IDs."""
        self.model.eval()
        length = self.ids.codes.shape[1]
        lists, invalid, total = [], 0, 0
        for text in prompts:
            prompt = self.tokenizer(text, return_tensors="pt").input_ids
            start = prompt.shape[1]

            def allowed(batch_id: int, sent: torch.Tensor) -> list[int]:
                return self._trie.get(tuple(sent[start:].tolist()), [self.tokenizer.eos_token_id])

            out = self.model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), num_beams=k,
                                      num_return_sequences=k, max_new_tokens=length, min_new_tokens=length,
                                      do_sample=False, pad_token_id=self.tokenizer.eos_token_id,
                                      prefix_allowed_tokens_fn=allowed if constrained else None)
            items = [self._item_of(row[start:].tolist()) for row in out]
            invalid += sum(i is None for i in items)
            total += len(items)
            lists.append([i for i in items if i is not None])
        return lists, invalid / max(total, 1)

    @torch.no_grad()
    def would_buy_scores(self, history: tuple[int, ...], candidates: list[int]) -> np.ndarray:
        """P(" Yes" | would this shopper buy the candidate?) per candidate: TALLRec's pointwise ranker.

        The prompts differ only in the candidate's ID, which comes after the shared history: the history runs
        once, its key/value cache is shared by a batch of the candidates' endings (all of one length), about 3x
        fewer tokens than asking each prompt whole on the Amazon histories."""
        from transformers import DynamicCache

        self.model.eval()
        yes = self.tokenizer(" Yes", add_special_tokens=False).input_ids[0]
        no = self.tokenizer(" No", add_special_tokens=False).input_ids[0]
        prompts = [self.tokenizer(would_buy_prompt(self.prompts, history, c), add_special_tokens=False).input_ids
                   for c in candidates]
        shared = len(prompts[0]) - len(self.tokenizer(f"{spell(self.ids, candidates[0])}? Answer:",
                                                      add_special_tokens=False).input_ids)
        if any(len(p) != len(prompts[0]) or p[:shared] != prompts[0][:shared] for p in prompts):
            raise KitError(f"{self.base_name or 'this'} tokenizer merges the history into the candidate's ID; the "
                           "would-buy prompts cannot share the history's cache")
        cache = DynamicCache()
        self.model(input_ids=torch.tensor([prompts[0][:shared]]), past_key_values=cache, use_cache=True)
        cache.batch_repeat_interleave(len(prompts))
        ends = torch.tensor([p[shared:] for p in prompts])
        positions = torch.arange(shared, len(prompts[0])).expand(len(prompts), -1)
        logits = self.model(input_ids=ends, past_key_values=cache, position_ids=positions, use_cache=True,
                            attention_mask=torch.ones(len(prompts), len(prompts[0]), dtype=torch.long)
                            ).logits[:, -1].float()
        pair = torch.stack([logits[:, yes], logits[:, no]], dim=1)
        return torch.softmax(pair, dim=1)[:, 0].numpy()

    @torch.no_grad()
    def reply(self, prompt: str, max_new_tokens: int = 40) -> ItemReply:
        """Free generation; every ID in it becomes the item's title, an ID naming no item is dropped."""
        self.model.eval()
        ids = self.tokenizer(prompt, return_tensors="pt").input_ids
        out = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                  do_sample=False, pad_token_id=self.tokenizer.eos_token_id)
        raw = self.tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=False)
        raw = raw.split(self.tokenizer.eos_token)[0]
        items, invalid = [], 0

        def replace(match: re.Match) -> str:
            nonlocal invalid
            codes = tuple(int(c) for _, c in TOKEN.findall(match.group(0)))
            item = self.ids.item_of_codes(codes)
            if item is None:
                invalid += 1
                return ""
            items.append(item)
            return f"[{short_title(self.ids.text_of(item), self.config.title_words)}]"

        text = re.sub(r"(?:<\|sid_\d+_\d+\|>)+", replace, raw)
        return ItemReply(" ".join(text.split()), items, invalid)
