import json
import math

import pytest
import torch
from torch_geometric.data import HeteroData

from kit.bundles.data import BI, UB, UI, BundleDataError, BundleDataset, summary
from kit.bundles.protocol import evaluate_ranking


def write_dataset(folder, sizes="3\t4\t5", train="0\t0\n0\t1\n1\t2\n2\t3\n", tune="1\t1\n", test="0\t2\n1\t3\n",
                  user_item="0\t0\n1\t1\n2\t4\n", bundle_item="0\t0\n0\t1\n1\t1\n2\t2\n3\t3\n3\t4\n"):
    folder.mkdir(parents=True, exist_ok=True)
    files = {"toy_data_size.txt": sizes, "user_bundle_train.txt": train, "user_bundle_tune.txt": tune,
             "user_bundle_test.txt": test, "user_item.txt": user_item, "bundle_item.txt": bundle_item}
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_youshu_loads_with_the_published_counts(youshu):
    stats = summary(youshu)
    assert (stats["users"], stats["bundles"], stats["items"]) == (8039, 4771, 32770)
    assert (stats["user_bundle_train"], stats["user_bundle_tune"], stats["user_bundle_test"]) == (34416, 5189, 9746)
    assert (stats["user_item"], stats["bundle_item"]) == (138515, 176667)


def test_your_own_data_in_the_same_format(tmp_path):
    dataset = BundleDataset("toy", raw_dir=write_dataset(tmp_path / "raw"), root=tmp_path / "processed")
    data = dataset[0]
    assert data["user"].num_nodes == 3 and data[UB].edge_index.shape == (2, 4) and data[BI].edge_index.shape == (2, 6)
    assert (tmp_path / "processed" / "processed" / "data.pt").is_file()  # processed once, cached


@pytest.mark.parametrize("bad, message", [
    ({"train": "0\t0\n0 x\n"}, r"user_bundle_train.txt:2: expected two tab-separated integers"),
    ({"bundle_item": "0\t0\n9\t1\n"}, r"bundle_item.txt:2: bundle id 9 is outside 0..3"),
    ({"user_item": "0\t7\n"}, r"user_item.txt:1: item id 7 is outside 0..4"),
    ({"sizes": "three"}, r"must hold three integers"),
])
def test_malformed_files_are_clear_errors(tmp_path, bad, message):
    with pytest.raises(BundleDataError, match=message):
        BundleDataset("toy", raw_dir=write_dataset(tmp_path / "raw", **bad), root=tmp_path / "p")


def toy_graph():
    data = HeteroData()
    data["user"].num_nodes, data["bundle"].num_nodes, data["item"].num_nodes = 2, 5, 1
    data[UB].edge_index = torch.tensor([[0, 1], [0, 1]])  # train: user 0 took bundle 0, user 1 bundle 1
    data[UB].tune_edge_index = torch.tensor([[0], [2]])
    data[UB].test_edge_index = torch.tensor([[0, 0, 1], [2, 4, 3]])
    return data


def test_protocol_by_hand():
    # every user scores bundles 0 > 1 > 2 > 3 > 4; train bundles are removed before ranking
    scores = lambda users: torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0]]).expand(len(users), -1)  # noqa: E731
    result = evaluate_ranking(scores, toy_graph(), "test", ks=(1, 2))
    # user 0 ranks [1, 2, 3, 4] (0 excluded): relevant {2, 4} -> recall@1 0, recall@2 1/2
    # user 1 ranks [0, 2, 3, 4] (1 excluded): relevant {3}    -> recall@1 0, recall@2 0
    assert result["users"] == 2 and result["recall@1"] == 0.0
    assert result["recall@2"] == pytest.approx(0.25)
    ndcg_user0 = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert result["ndcg@2"] == pytest.approx(ndcg_user0 / 2)


def test_popularity_ranks_the_most_taken_bundle_first(youshu):
    from kit.bundles.models import Popularity

    model = Popularity(youshu)
    most_taken = int(torch.bincount(youshu[UB].edge_index[1]).argmax())
    assert int(model.score(torch.tensor([0, 5]))[1].argmax()) == most_taken


def popularity_tune_recall(youshu) -> float:
    """The strongest trivial baseline a trained model must pass: the most taken bundles for everyone."""
    from kit.bundles.models import Popularity
    from kit.bundles.protocol import evaluate_ranking

    return evaluate_ranking(Popularity(youshu).score, youshu, "tune", ks=(20,))["recall@20"]


def test_crosscbr_learns(crosscbr_short, youshu):
    history = crosscbr_short.history
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["tune_recall@20"] > popularity_tune_recall(youshu)  # about 0.20 (random: 0.004)


def test_lightgcn_learns(youshu):
    from kit.bundles.train import BundleTrainConfig, train_bundle_model

    result = train_bundle_model(youshu, BundleTrainConfig(model="lightgcn", epochs=3, eval_every=3), progress=False)
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    assert result.history[-1]["tune_recall@20"] > popularity_tune_recall(youshu)


def test_a_cold_bundle_gets_a_representation_from_its_items(youshu):
    from kit.bundles.cold import cold_bundle_split
    from kit.bundles.models import CrossCBR

    warm, cold = cold_bundle_split(youshu, 0.05, seed=0)
    assert youshu[UB].edge_index.shape[1] > warm[UB].edge_index.shape[1]  # the original graph is untouched
    assert not set(warm[UB].edge_index[1].tolist()) & cold
    model = CrossCBR(warm)
    _, bundles_i, _, _ = model.clean_views()
    one = sorted(cold)[0]
    items = youshu[BI].edge_index[1][youshu[BI].edge_index[0] == one]
    item_view = model._propagate(torch.cat([model.users, model.items]), model._graphs(0.0)["ui"])[model.U:]
    torch.testing.assert_close(bundles_i[one], item_view[items].mean(0))


def test_checkpoint_round_trip(crosscbr_short, youshu):
    from kit.bundles.train import load_checkpoint, save_checkpoint

    save_checkpoint(crosscbr_short, "youshu", {"recall@20": 0.0})
    loaded, metrics = load_checkpoint(youshu, "youshu", "crosscbr", 0)
    users = torch.arange(5)
    torch.testing.assert_close(loaded.score(users), crosscbr_short.model.score(users))


def test_bundle_completion(youshu):
    from kit.bundles.complete import BundleCompleter, evaluate_completion
    from kit.errors import BadInput

    completer = BundleCompleter(youshu)
    bundle_items = youshu[BI].edge_index[1][youshu[BI].edge_index[0] == 0].tolist()
    given, hidden = bundle_items[:-1], bundle_items[-1]
    suggestions = completer.complete(given, k=50)
    assert len(suggestions) == 50 and not set(i for i, _ in suggestions) & set(given)
    assert [s for _, s in suggestions] == sorted((s for _, s in suggestions), reverse=True)
    assert hidden in [i for i, _ in completer.complete(given, k=200)]
    with pytest.raises(BadInput):
        completer.complete([])
    with pytest.raises(BadInput, match="within"):
        completer.complete([10**6])
    assert evaluate_completion(youshu, max_bundles=100)["hit_rate@10"] > 0.05
    explained = completer.explain(given, k=10)
    assert [(e.item, e.score) for e in explained] == completer.complete(given, k=10)
    bundles_of = {}
    for bundle, item in youshu[BI].edge_index.t().tolist():
        bundles_of.setdefault(item, set()).add(bundle)
    for e in explained:  # the named item really shares that many bundles, and no given item shares more
        assert e.score == pytest.approx(e.co_occurrence + e.embedding) and e.embedding == 0  # no embeddings given
        shared = {g: len(bundles_of[e.item] & bundles_of[g]) for g in given}
        assert e.together_with in given and e.shared_bundles == shared[e.together_with] == max(shared.values()) > 0
        assert f"in {e.shared_bundles} bundle(s) together with item {e.together_with}" in e.why


def test_cli_train_then_eval(youshu, kit_cli):
    trained = kit_cli("bundles", "train", "--dataset", "youshu", "--model", "lightgcn", "--epochs", "2", "--json")
    assert trained.returncode == 0, trained.stderr
    evaluated = kit_cli("bundles", "eval", "--dataset", "youshu", "--model", "lightgcn", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads(evaluated.stdout)
    assert set(metrics) == {"recall@20", "ndcg@20", "recall@40", "ndcg@40"}
    assert metrics == pytest.approx(json.loads(trained.stdout), abs=1e-5)


def test_cli_unknown_model_is_refused(kit_cli):
    result = kit_cli("bundles", "eval", "--model", "gpt")
    assert result.returncode == 2 and "invalid choice: 'gpt'" in result.stderr
