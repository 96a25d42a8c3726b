"""Semantic IDs: codes, tokenizers, the ranking protocol, SASRec and the TIGER-style generator, on tiny data.

The toy pattern: users walk through the items in order (item i is followed by item i + 1), so a model
that learns sequences predicts the next item far above chance, and popularity cannot.
"""

from __future__ import annotations

import json

from collections import Counter

import numpy as np
import pytest
import torch

from kit.errors import BadInput, CatalogError
from kit.semids.codes import SemanticIds, deduplicate
from kit.semids.explain import explain_next, recommend_with_reasons
from kit.semids.ranking import metrics_from_ranks, popularity_scorer, ranks_from_lists, ranks_from_scores
from kit.semids.residual_kmeans import ResidualKMeans
from kit.semids.rqvae import RQVAE, RQVAEConfig, train_rqvae
from kit.semids.sasrec import SASRec, SASRecConfig, training_sequences
from kit.semids.tiger import Tiger, TigerConfig
from kit.training import fit
from kit.sequences import NextItemExample, SequenceData

# one unit for the test workers: the tests share this module's set-up (see conftest)
pytestmark = pytest.mark.xdist_group("semids")

N_ITEMS = 24


def clustered_vectors(n: int = N_ITEMS, dim: int = 16, seed: int = 0) -> np.ndarray:
    """Items in 4 families (item i belongs to family i % 4), each family a direction plus noise."""
    rng = np.random.default_rng(seed)
    centres = 3 * rng.normal(size=(4, dim))
    return (centres[np.arange(n) % 4] + 0.1 * rng.normal(size=(n, dim))).astype(np.float32)


@pytest.fixture(scope="module")
def toy_data() -> SequenceData:
    rng = np.random.default_rng(0)
    splits: dict[str, list] = {"train": [], "valid": [], "test": []}
    for user in range(150):
        start = int(rng.integers(N_ITEMS))
        walk = [(start + step) % N_ITEMS for step in range(8)]
        for end in range(2, 6):
            splits["train"].append(NextItemExample(user, tuple(walk[:end]), walk[end]))
        splits["valid"].append(NextItemExample(user, tuple(walk[:6]), walk[6]))
        splits["test"].append(NextItemExample(user, tuple(walk[:7]), walk[7]))
    return SequenceData([f"item {i}" for i in range(N_ITEMS)], splits, [f"id{i}" for i in range(N_ITEMS)])


@pytest.fixture(scope="module")
def toy_ids() -> SemanticIds:
    codes, _ = ResidualKMeans(levels=2, codebook_size=4).fit_codes(clustered_vectors())
    return SemanticIds.from_codes(codes, 4, [f"id{i}" for i in range(N_ITEMS)], [f"item {i}" for i in range(N_ITEMS)])


def test_deduplication_makes_every_id_unique_and_counts_collisions():
    codes = np.array([[0, 1], [0, 1], [2, 3], [0, 1]])
    ids = SemanticIds.from_codes(codes, 4, ["a", "b", "c", "d"])
    assert deduplicate(codes)[:, -1].tolist() == [0, 1, 0, 2]
    assert len({ids.semantic_id(i) for i in range(4)}) == 4
    stats = ids.stats()
    assert (stats.collided_items, stats.largest_group, stats.unique_ids) == (3, 3, 4)
    assert ids.items_with_prefix((0, 1)) == [0, 1, 3] and ids.items_with_prefix((0, 1, 2)) == [3]
    assert ids.semantic_id("c") == (2, 3, 0)
    with pytest.raises(BadInput):
        SemanticIds(codes, 4, ["a", "b", "c", "d"])  # not de-duplicated: refused
    with pytest.raises(BadInput):
        ids.semantic_id("nope")


def test_ids_save_and_load_with_the_item_table(tmp_path, toy_ids):
    path = toy_ids.save(tmp_path / "ids.parquet")
    loaded = SemanticIds.load(path)
    assert loaded.item_ids == toy_ids.item_ids and loaded.texts == toy_ids.texts
    assert np.array_equal(loaded.codes, toy_ids.codes) and loaded.codebook_size == 4
    with pytest.raises(CatalogError, match="semids build"):
        SemanticIds.load(tmp_path / "missing.parquet")


def test_tokens_round_trip_and_the_trie_allows_only_real_ids(toy_ids):
    for item in range(N_ITEMS):
        assert toy_ids.item_of_tokens(toy_ids.tokens(item)) == item
    trie = toy_ids.prefix_trie()
    first = trie[()]
    assert set(first) == set(toy_ids.token_table()[:, 0].tolist())
    full = [tuple(row) for row in toy_ids.token_table().tolist()]
    assert all(trie[row[:2]] for row in full)  # every real 2-token prefix continues
    assert toy_ids.item_of_tokens((2, 2, 999)) is None


def test_residual_kmeans_first_level_finds_the_families():
    codes, mse = ResidualKMeans(levels=2, codebook_size=4).fit_codes(clustered_vectors())
    families = np.arange(N_ITEMS) % 4
    for family in range(4):  # one code per family at level 1
        assert len(set(codes[families == family, 0])) == 1
    assert len(set(codes[:, 0])) == 4 and mse < 0.1 * (clustered_vectors() ** 2).sum(1).mean()


def test_rqvae_learns_codes_and_restarts_dead_ones():
    vectors = clustered_vectors(n=64)
    model, codes, mse, history = train_rqvae(vectors, RQVAEConfig(levels=2, codebook_size=4, latent_dim=8,
                                                                  hidden=(32,), epochs=60, batch_size=32))
    assert codes.shape == (64, 2) and history[-1] < history[0]
    families = np.arange(64) % 4
    assert all(len(set(codes[families == f, 0])) == 1 for f in range(4))
    with torch.no_grad():
        model.codebooks[0, 0] = 1e3  # a codeword nobody will choose
    x = torch.from_numpy(vectors)
    moved = model.restart_dead_codes(x, torch.Generator().manual_seed(0))
    assert moved >= 1 and model.codebooks[0, 0].abs().max() < 1e2


def test_ranking_protocol_counts_ties_against_the_target(toy_data):
    test = toy_data.splits["test"]
    perfect = lambda hs: np.eye(N_ITEMS)[[(h[-1] + 1) % N_ITEMS for h in hs]]
    constant = lambda hs: np.zeros((len(hs), N_ITEMS))
    assert metrics_from_ranks(ranks_from_scores(perfect, test))["recall@10"] == 1.0
    assert metrics_from_ranks(ranks_from_scores(perfect, test))["ndcg@10"] == 1.0
    assert metrics_from_ranks(ranks_from_scores(constant, test))["recall@10"] == 0.0
    ranks = ranks_from_lists([[e.target] for e in test[:3]] + [[]], test[:4])
    assert ranks[:3].tolist() == [0, 0, 0] and np.isinf(ranks[3])


def _train_sasrec(data: SequenceData, epochs: int, checkpoint=None, **settings) -> tuple[SASRec, object]:
    config = SASRecConfig(**{**dict(hidden=32, layers=1, heads=2, max_len=8, dropout=0.1, epochs=epochs, patience=50,
                                    lr=5e-3), **settings})
    torch.manual_seed(0)
    model = SASRec(data.num_items, config)
    sequences = training_sequences(data, config.max_len)

    def batches(epoch):
        order = torch.randperm(len(sequences), generator=torch.Generator().manual_seed(epoch))
        return [sequences[order[i:i + 32]] for i in range(0, len(sequences), 32)]

    def validate():
        return metrics_from_ranks(ranks_from_scores(model.score, data.splits["valid"]))["recall@10"]

    return model, fit(model, batches, validate=validate, epochs=epochs, patience=50, checkpoint=checkpoint, progress=False)


@pytest.fixture(scope="module")
def toy_sasrec(toy_data):
    return _train_sasrec(toy_data, epochs=15)[0]


def test_sasrec_learns_the_toy_pattern_and_beats_popularity(toy_data, toy_sasrec):
    model = toy_sasrec
    test = toy_data.splits["test"]
    sasrec = metrics_from_ranks(ranks_from_scores(model.score, test))
    popularity = metrics_from_ranks(ranks_from_scores(popularity_scorer(toy_data), test))
    assert sasrec["recall@10"] > 0.9 > popularity["recall@10"] + 0.4
    assert not np.isnan(model.score([(1,), (3, 4, 5)])).any()  # short, padded histories stay finite


def test_recboles_sasrec_settings_build_what_they_say_and_learn_the_toy_pattern(toy_data):
    """The ablation's settings (docs/benchmarks.md, SASRec reproduced): post-norm blocks, LayerNorm on the input,
    N(0, 0.02) weights; the default keeps torch's N(0, 1) position embeddings."""
    default = SASRec(toy_data.num_items, SASRecConfig(hidden=32, layers=1, max_len=8))
    assert default.positions.weight.std().item() > 0.5 and isinstance(default.norm, torch.nn.LayerNorm)
    model, _ = _train_sasrec(toy_data, epochs=15, norm_first=False, input_norm=True, init_std=0.02)
    fresh = SASRec(toy_data.num_items, model.config)
    assert fresh.positions.weight.std().item() == pytest.approx(0.02, rel=0.2)
    assert isinstance(fresh.norm, torch.nn.Identity) and not fresh.blocks.layers[0].norm_first
    test = toy_data.splits["test"]
    learned = metrics_from_ranks(ranks_from_scores(model.score, test))["recall@10"]
    popularity = metrics_from_ranks(ranks_from_scores(popularity_scorer(toy_data), test))["recall@10"]
    assert learned > 0.9 > popularity + 0.4


def test_training_resumes_from_its_checkpoint_with_the_same_result(tmp_path, toy_data):
    checkpoint = tmp_path / "sasrec.ckpt"
    _train_sasrec(toy_data, epochs=2, checkpoint=checkpoint)  # "killed" after two epochs
    resumed, result = _train_sasrec(toy_data, epochs=4, checkpoint=checkpoint)
    straight, reference = _train_sasrec(toy_data, epochs=4)
    assert result.epochs_run == 4 and len(result.history) == 4
    assert [h["loss"] for h in result.history] == pytest.approx([h["loss"] for h in reference.history], rel=1e-5)
    for a, b in zip(resumed.state_dict().values(), straight.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6)


def test_tiger_constrained_beams_name_only_real_items_and_learn_the_pattern(toy_data, toy_ids):
    torch.manual_seed(0)
    config = TigerConfig(d_model=32, layers=1, heads=2, d_ff=64, dropout=0.0, max_items=4, lr=5e-3)
    model = Tiger(toy_ids, config)
    histories = [e.history for e in toy_data.splits["test"][:20]]
    _, invalid_untrained = model.recommend(histories, k=10, constrained=True)
    assert invalid_untrained == 0.0  # even an untrained model cannot name a missing item
    _, invalid_free = model.recommend(histories, k=10, constrained=False)
    assert invalid_free > 0.0  # which is what the constraint is for

    train = toy_data.splits["train"]
    batches = lambda epoch: [([e.history for e in train[i:i + 64]], [e.target for e in train[i:i + 64]])
                             for i in range(0, len(train), 64)]
    valid = toy_data.splits["valid"][:30]

    def recall_at_5(examples):
        lists, invalid = model.recommend([e.history for e in examples], k=5)
        assert invalid == 0.0 and all(len(items) == 5 for items in lists)
        return metrics_from_ranks(ranks_from_lists(lists, examples), ks=(5,))["recall@5"]

    fit(model, batches, validate=lambda: recall_at_5(valid), epochs=30, patience=100, progress=False)
    recall = recall_at_5(toy_data.splits["test"])
    assert recall > 0.6  # random would be 5 / 24


def test_cli_refuses_a_dataset_without_sequences_and_bad_sizes(capsys):
    from kit.cli import main

    assert main(["semids", "build", "--dataset", "youshu"]) == 2
    assert "amazon_scientific" in capsys.readouterr().err
    assert main(["semids", "build", "--levels", "0"]) == 2
    assert "--levels" in capsys.readouterr().err


def make_tiny_chat(ids, base_name: str = "tiny-llama", **settings):
    """ItemChat over a tiny random Llama with MiniLM's tokenizer: the kit's code, a stand-in for the 135M weights."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from kit.registry import REGISTRY
    from kit.semids.chat_items import ChatItemsConfig, ItemChat

    tokenizer = AutoTokenizer.from_pretrained(str(REGISTRY.resolve("minilm").path))
    tokenizer.eos_token = "[SEP]"
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                                         tie_word_embeddings=True))
    config = ChatItemsConfig(**{"rank": 4, "alpha": 8, "lr": 1e-2, "warmup_steps": 1, "history_items": 3, **settings})
    return ItemChat(model, tokenizer, ids, config, base_name=base_name)


@pytest.fixture(scope="module")
def tiny_item_chat(toy_ids):
    return make_tiny_chat(toy_ids)


def toy_facts():
    from kit.semids.item_tasks import ItemFacts

    return ItemFacts([f"Brand{i % 3}" if i % 5 else "" for i in range(N_ITEMS)], [f"Kind{i % 4}" for i in range(N_ITEMS)])


def test_the_task_mixture_draws_each_task_in_its_share_from_real_purchases(toy_ids, toy_data):
    from kit.semids.item_tasks import TaskContext, draw_examples, spell

    context = TaskContext(toy_ids, toy_data, toy_facts(), history_items=3)
    mixture = {"next_item": 0.4, "would_buy": 0.3, "steered": 0.2, "id_to_title": 0.1}
    pairs = draw_examples(context, toy_data.splits["train"], mixture, np.random.default_rng(0), 3000)
    kind = lambda prompt: ("steered" if "Next, " in prompt else "next_item" if prompt.endswith("Next:")  # noqa: E731
                           else "would_buy" if "? Answer:" in prompt else "id_to_title")
    shares = Counter(kind(prompt) for prompt, _ in pairs)
    assert {name: round(shares[name] / len(pairs), 2) for name in mixture} == pytest.approx(mixture, abs=0.03)
    spelled = {spell(toy_ids, i): i for i in range(N_ITEMS)}
    for prompt, answer in pairs:
        if kind(prompt) == "steered":  # the constraint in words holds for the answer
            words = prompt.rsplit("Next, ", 1)[1].rstrip(":")
            relation, value = words.split(" ", 1)
            assert context.facts.satisfies(spelled[answer], "brand" if relation == "by" else "category", value)
        if kind(prompt) == "would_buy":
            assert answer in (" Yes", " No")
    yes = [p for p, a in pairs if a == " Yes"]
    assert 0.4 < len(yes) / shares["would_buy"] < 0.6  # half positives, half sampled negatives
    with pytest.raises(BadInput, match="tasks: next_item"):
        draw_examples(context, toy_data.splits["train"], {"next_itme": 1.0}, np.random.default_rng(0), 4)
    without_facts = TaskContext(toy_ids, toy_data, type(context.facts).none(N_ITEMS))
    with pytest.raises(BadInput, match="brand or category"):
        draw_examples(without_facts, toy_data.splits["train"], {"steered": 1.0}, np.random.default_rng(0), 4)


def test_would_buy_scores_read_each_candidate_as_if_it_were_asked_alone(toy_ids, toy_data):
    from kit.semids.item_tasks import would_buy_prompt

    chat, history, candidates = make_tiny_chat(toy_ids, tasks={"would_buy": 1.0}), (3, 4, 5), [6, 20, 13, 6]
    optimizer, _ = chat.configure_optimizers()  # the full rate from the first step (warmup_steps=1)
    for step in range(5):  # new item tokens start alike: a few steps tell them apart
        loss = chat.loss(chat.examples(toy_data, "train", np.random.default_rng(step), 8))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scores = chat.would_buy_scores(history, candidates)
    yes, no = (chat.tokenizer(w, add_special_tokens=False).input_ids[0] for w in (" Yes", " No"))
    with torch.no_grad():
        for candidate, score in zip(candidates, scores):
            tokens = chat.tokenizer(would_buy_prompt(chat.prompts, history, candidate), add_special_tokens=False)
            logits = chat.model(input_ids=torch.tensor([tokens.input_ids])).logits[0, -1]
            assert score == pytest.approx(torch.softmax(logits[[yes, no]], 0)[0].item(), abs=1e-5)
    assert scores[0] == pytest.approx(scores[3]) and len(set(np.round(scores, 6))) > 1


def test_a_tuning_run_resumes_exactly_keeps_to_its_budget_and_never_overwrites(tmp_path, toy_ids, toy_data):
    from kit.semids.pipeline import TuneRunError, fit_item_chat

    settings = {"steps_per_epoch": 3, "batch_size": 4, "valid_users": 5, "patience": None}
    straight = make_tiny_chat(toy_ids, epochs=4, **settings)
    summary = fit_item_chat(straight, toy_data, tmp_path / "straight.pt", progress=False)
    assert summary["epochs_run"] == 4 and [c["epoch"] for c in summary["curve"]] == [0, 1, 2, 3]
    assert summary["curve"][-1]["loss"] < summary["curve"][0]["loss"]
    assert "would_buy" in (tmp_path / "straight.md").read_text()  # the model card lists the mixture

    fit_item_chat(make_tiny_chat(toy_ids, epochs=2, **settings), toy_data, tmp_path / "split.pt", progress=False)
    resumed = make_tiny_chat(toy_ids, epochs=4, **settings)  # a new process: the checkpoint is all it has
    fit_item_chat(resumed, toy_data, tmp_path / "split.pt", progress=False)
    for name, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value, rtol=0, atol=0)

    again = make_tiny_chat(toy_ids, epochs=10, **settings)
    with pytest.raises(TuneRunError, match="--resume"):
        fit_item_chat(again, toy_data, tmp_path / "split.pt", progress=False, minutes=5)
    with pytest.raises(TuneRunError, match="nothing to resume"):
        fit_item_chat(again, toy_data, tmp_path / "fresh.pt", progress=False, minutes=5, resume=True)
    more = fit_item_chat(again, toy_data, tmp_path / "split.pt", progress=False, minutes=1e-6, resume=True)
    assert more["epochs_run"] == 5  # the budget ran out during the first new epoch: one more, then it stops


def test_an_adapter_loads_only_into_the_base_model_and_ids_it_was_trained_for(tmp_path, toy_ids, toy_data):
    from kit.semids.chat_items import AdapterMismatch
    from kit.semids.pipeline import fit_item_chat, load_adapter

    trained = make_tiny_chat(toy_ids, epochs=1, steps_per_epoch=2, batch_size=4, valid_users=3)
    fit_item_chat(trained, toy_data, tmp_path / "a.pt", progress=False)
    fresh = make_tiny_chat(toy_ids)
    load_adapter(fresh, tmp_path / "a.pt")
    for name, value in trained.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[name], value)
    with pytest.raises(AdapterMismatch, match="base 'tiny-llama'"):
        load_adapter(make_tiny_chat(toy_ids, base_name="another-llm"), tmp_path / "a.pt")
    codes, _ = ResidualKMeans(levels=2, codebook_size=4).fit_codes(clustered_vectors(seed=5))
    other = SemanticIds.from_codes(codes, 4, toy_ids.item_ids, toy_ids.texts)
    assert other.digest() != toy_ids.digest()
    with pytest.raises(AdapterMismatch, match="ids"):
        load_adapter(make_tiny_chat(other), tmp_path / "a.pt")


def test_item_chat_speaks_only_real_items_and_trains_only_adapters_and_new_tokens(tiny_item_chat, toy_ids, toy_data):
    from kit.semids.chat_items import spell, token_names

    chat = tiny_item_chat
    assert len(chat.item_token_ids) == len(token_names(toy_ids))
    assert chat.tokenizer.tokenize(spell(toy_ids, 3)) == spell(toy_ids, 3).replace("><", ">\0<").split("\0")
    histories = [e.history for e in toy_data.splits["test"][:4]]
    lists, invalid = chat.recommend(histories, k=5)
    assert invalid == 0.0 and all(len(items) == 5 for items in lists)  # constrained: real items only
    state = chat.state_dict()
    assert state and all("lora" in name or "token_adapter" in name or "trainable_tokens" in name for name in state)
    assert sum(v.numel() for v in state.values()) < 0.5 * sum(p.numel() for p in chat.parameters())

    optimizer, _ = chat.configure_optimizers()  # the full rate from the first step (warmup_steps=1)
    batch = chat.examples(toy_data, "train", np.random.default_rng(0), 16)
    first = chat.loss(batch).item()
    for _ in range(15):
        loss = chat.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < first


def test_a_packed_batch_scores_every_example_as_if_it_were_alone(tiny_item_chat, toy_data, monkeypatch):
    """The loss packs a batch into one row: the block mask must keep examples apart, and only answers count."""
    chat = tiny_item_chat
    monkeypatch.setattr(chat.config, "precision", "float32")
    batch = chat.examples(toy_data, "train", np.random.default_rng(1), 6)
    eos = chat.tokenizer.eos_token_id
    tokens, count, length = 0.0, 0, 0
    with torch.no_grad():
        packed = chat.loss(batch).item()
        for prompt, answer in batch:  # the reference: each example on its own, transformers' own label loss
            p = chat.tokenizer(prompt, add_special_tokens=False).input_ids
            a = chat.tokenizer(answer, add_special_tokens=False).input_ids + [eos]
            alone = chat.model(input_ids=torch.tensor([p + a]), labels=torch.tensor([[-100] * len(p) + a])).loss
            tokens, count, length = tokens + alone.item() * len(a), count + len(a), length + len(p) + len(a)
        row, positions, predict_at, targets = chat.pack(batch)
    assert packed == pytest.approx(tokens / count, rel=1e-4)
    assert row.shape == (1, length)  # no padding: the examples' tokens end to end
    assert (positions[0] == 0).sum().item() == len(batch) and len(predict_at) == len(targets) == count


def test_item_chat_reply_turns_ids_into_titles_and_drops_ids_that_name_nothing(tiny_item_chat, toy_ids, monkeypatch):
    from kit.semids.chat_items import spell

    chat = tiny_item_chat
    real = spell(toy_ids, 5)
    fake = "<|sid_0_3|><|sid_1_3|><|sid_2_9|>"
    # the model's free text is the input here; what is under test is the decoding of IDs in it
    monkeypatch.setattr(chat.tokenizer, "decode", lambda *a, **k: f"Try {real} or {fake} today")
    reply = chat.reply("Something like my last purchases?")
    assert reply.items == [5] and reply.invalid_ids == 1
    assert "[item 5]" in reply.text and "sid" not in reply.text


def test_rank_metrics_agree_with_the_kits_per_list_metrics():
    """ranking.py vectorises Recall/NDCG over rank arrays; kit.eval.metrics is the definition it must match."""
    from kit.eval.metrics import ndcg_at_k, recall_at_k

    rng = np.random.default_rng(0)
    ranks = rng.integers(0, 80, size=200)
    lists = [list(range(1, r + 1)) + [0] + list(range(r + 1, 100)) for r in ranks]  # target 0 sits at rank r
    fast = metrics_from_ranks(ranks)
    for k in (10, 50):
        assert fast[f"recall@{k}"] == pytest.approx(np.mean([recall_at_k(l, {0}, k) for l in lists]))
        assert fast[f"ndcg@{k}"] == pytest.approx(np.mean([ndcg_at_k(l, {0}, k) for l in lists]))


def test_an_explanation_names_the_history_items_whose_removal_costs_the_item_places(toy_data, toy_sasrec):
    titles = toy_data.texts
    # a transparent scorer: the item after each history item scores its position + 1 (later purchases weigh more)
    after = lambda histories: np.stack([np.bincount([(i + 1) % N_ITEMS for i in h], weights=np.arange(1, len(h) + 1),
                                                    minlength=N_ITEMS) for h in histories])
    why = explain_next(after, (3, 10, 7), 11, titles, "after")  # scores: item 4 -> 1, item 11 -> 2, item 8 -> 3
    assert why.rank == 1 and [e.item for e in why.evidence] == [10] and "'item 10'" in why.why
    assert why.evidence[0].rank_without > 0
    same = explain_next(popularity_scorer(toy_data), (3, 10, 7), 11, titles, "popularity")
    assert same.evidence == [] and "did not change" in same.why  # popularity ignores the history: no story

    # the trained model learned "next = last + 1": its top pick is explained by the last item above all
    history = (4, 5, 6, 7)
    explained = recommend_with_reasons(toy_sasrec.score, history, titles, "sasrec", k=3)
    assert explained[0].item == 8 and explained[0].rank == 0
    assert explained[0].evidence[0].item == 7
    assert all(e.item not in history for e in explained)


def test_tiger_scores_every_item_and_its_best_item_leads_its_beams(toy_data, toy_ids):
    torch.manual_seed(0)
    model = Tiger(toy_ids, TigerConfig(d_model=32, layers=1, heads=2, d_ff=64, dropout=0.0, max_items=4, lr=5e-3))
    train = toy_data.splits["train"]
    batches = lambda epoch: [([e.history for e in train[i:i + 64]], [e.target for e in train[i:i + 64]])
                             for i in range(0, len(train), 64)]
    fit(model, batches, validate=lambda: 0.0, epochs=20, patience=100, progress=False)
    histories = [e.history for e in toy_data.splits["test"][:10]]
    scores = model.score(histories, chunk=7)  # chunks smaller than the catalog give the same scores
    assert scores.shape == (10, N_ITEMS) and np.all(scores <= 0)
    assert np.all(np.exp(scores).sum(1) <= 1 + 1e-4)  # the real IDs are a part of all token sequences
    beams, _ = model.recommend(histories, k=3)
    assert sum(int(np.argmax(row)) == b[0] for row, b in zip(scores, beams)) >= 9


def test_cli_recommend_explains_every_item_from_the_real_history(capsys):
    from kit.cli import main

    assert main(["semids", "recommend", "--models", "popularity", "content", "--text-model", "minilm", "--user", "7",
                 "--k", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    history = set(out["history"])
    for model in ("popularity", "content"):
        rows = out["recommendations"][model]
        assert len(rows) == 3 and [r["rank"] for r in rows] == [0, 1, 2]
        assert all(r["why"].startswith(model) and r["title"] not in history for r in rows)
    assert all(r["evidence"] == [] for r in out["recommendations"]["popularity"])
    content = out["recommendations"]["content"]  # nearest to the last purchase: that purchase is the evidence
    assert all(r["evidence"][0]["position"] == len(out["history"]) - 1 for r in content)


def test_the_tuned_models_reports_rank_the_same_cases_and_filter_the_baseline_by_the_constraint(toy_ids, toy_data):
    from kit.semids.chat_eval import ranking_report, steering_report

    chat = make_tiny_chat(toy_ids)
    report = ranking_report(chat, toy_data, users=12, candidates=6)
    assert report.users == 12 and list(report.rows)[:3] == ["random", "popularity", "1 embeddings + kNN"]
    for row in report.rows.values():
        low, high = row["HitRate@1 95%"]
        assert low <= row["HitRate@1"] <= high and 0 <= row["top pick in first 3"] <= 1
    facts = toy_facts()
    steering = steering_report(chat, toy_data, facts, lambda histories: popularity_scorer(toy_data)(histories), users=10)
    assert steering["users"] == 10
    assert steering["baseline filtered by the constraint"]["satisfies"] == 1.0  # the filter keeps only matching items
    assert steering["baseline, unconstrained"]["satisfies"] < 1.0  # popularity alone ignores the constraint
    assert 0 <= steering["tuned LLM, steered in words"]["satisfies"] <= 1


def test_the_chat_models_rate_warms_up_then_holds(toy_ids):
    """The tuned chat model's schedule: the rate rises linearly over ``warmup_steps`` steps, then holds at ``lr``."""
    chat = make_tiny_chat(toy_ids, lr=1e-3, warmup_steps=4)
    optimizer, schedule = chat.configure_optimizers()
    rates = []
    for _ in range(6):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3])
