"""A simulated A/B test of recommenders, and the check of the simulator against real behaviour.

    context = SimulationContext.load("amazon_scientific")
    report = run_simulation(context, "choice", ["popularity", "content"], users=200)
    print(report.markdown())

Steps of :func:`run_simulation`:
1. shoppers are built from real test users (:func:`build_shoppers`);
2. every policy shows every shopper one page of ``page_size`` items; the simulator decides; the A/B table is
   the click, basket and leave rates per policy with bootstrap intervals over shoppers (:func:`simulate_ab`);
3. validation (:func:`validate`): (a) each shopper sees a page holding their real held-out next purchase among
   ``page_size - 1`` sampled items; the hit rate is how often the simulator picks that item, against chance
   1/page_size; (b) each policy's offline Recall@page_size on all real test users (is the real next purchase on
   the page?) is compared with the order of its simulated click rates by Kendall's tau.
A simulator that does not beat chance on (a), or orders the policies unlike (b), should not stand in for an
A/B test.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from kit.errors import BadInput
from kit.eval import bootstrap_interval, kendall_tau
from kit.llm.chat import ChatModel
from kit.sequences import SequenceData, sample_unseen
from kit.simulate.agent import LLMShopper
from kit.simulate.choice import ChoiceModelShopper
from kit.simulate.datasets import SIMULATION_DATASETS, check_dataset
from kit.simulate.decisions import Decision, Simulator
from kit.simulate.policies import POLICIES, Pages
from kit.simulate.shoppers import Shopper, build_shoppers


@dataclass
class SimulationContext:
    """The data a simulation reads: choice sequences and one vector per item (texts, or a bundle's book set)."""

    dataset: str
    data: SequenceData
    vectors: np.ndarray

    @classmethod
    def load(cls, dataset: str | None = None, text_model: str = "minilm") -> "SimulationContext":
        """Any dataset of :data:`kit.simulate.datasets.SIMULATION_DATASETS`, by default its first (``text_model``
        embeds item texts)."""
        dataset = dataset or next(iter(SIMULATION_DATASETS))
        data, vectors = check_dataset(dataset, None).load(text_model)
        return cls(dataset, data, vectors)

    def pages(self, policy: str, seed: int = 0) -> Pages:
        if policy not in POLICIES:
            raise BadInput(f"unknown policy {policy!r}; choose from {', '.join(POLICIES)}")
        return POLICIES[policy].make(self.data, self.vectors, seed)


@dataclass(frozen=True)
class SimulatorSpec:
    name: str
    help: str
    make: Callable[[SimulationContext, int, int, ChatModel | None], Simulator]  # (context, page size, seed, chat)


def _llm_shopper(context: SimulationContext, page_size: int, seed: int, chat: ChatModel | None) -> Simulator:
    from kit.llm.factory import load_chat_model

    return LLMShopper(chat or load_chat_model(), context.data.texts)


SIMULATORS: dict[str, SimulatorSpec] = {s.name: s for s in (
    SimulatorSpec("choice", "a conditional logit over similarity to the history, fitted on train purchases",
                  lambda context, k, seed, chat: ChoiceModelShopper.fit(context.data, context.vectors, k, seed=seed)),
    SimulatorSpec("llm", "a chat model role-plays the shopper ($KIT_LLM or the local SmolLM2)", _llm_shopper),
)}


def _rate(values: Sequence[float], seed: int) -> dict:
    low, high = bootstrap_interval(values, seed=seed)
    return {"rate": float(np.mean(values)), "ci95": [low, high]}


@dataclass
class ABReport:
    simulator: str
    page_size: int
    shoppers: int
    rows: list[dict] = field(default_factory=list)  # policy, click, basket, leave ({rate, ci95} each)
    decisions: dict[str, list[Decision]] = field(default_factory=dict)  # per policy, one per shopper

    def click_rates(self) -> dict[str, float]:
        """Share of shoppers who clicked or added an item, per policy (the A/B test's main number)."""
        return {row["policy"]: row["click_rate"]["rate"] for row in self.rows}

    def to_dict(self) -> dict:
        return {"simulator": self.simulator, "page_size": self.page_size, "shoppers": self.shoppers,
                "policies": self.rows}


def simulate_ab(simulator: Simulator, shoppers: list[Shopper], policies: dict[str, Pages], page_size: int = 10,
                seed: int = 0) -> ABReport:
    """Every shopper sees one page from every policy; rates per policy with 95% bootstrap intervals."""
    report = ABReport(simulator.name, page_size, len(shoppers))
    for name, make_pages in policies.items():
        pages = make_pages([s.history for s in shoppers], page_size)
        decisions = [simulator.decide(shopper, page) for shopper, page in zip(shoppers, pages)]
        report.decisions[name] = decisions
        report.rows.append({"policy": name,
                            "click_rate": _rate([d.chose for d in decisions], seed),  # click or basket
                            "basket_rate": _rate([d.action == "basket" for d in decisions], seed),
                            "leave_rate": _rate([d.action == "leave" for d in decisions], seed)})
    return report


def validation_pages(shoppers: list[Shopper], num_items: int, page_size: int, seed: int = 0) -> list[list[int]]:
    """Per shopper: the real next purchase among ``page_size - 1`` items they never bought, shuffled."""
    rng = random.Random(seed)
    pages = []
    for shopper in shoppers:
        seen = set(shopper.history) | {shopper.next_item}
        page = sorted([shopper.next_item, *sample_unseen(rng, num_items, seen, page_size - 1)])
        rng.shuffle(page)
        pages.append(page)
    return pages


def offline_recall(data: SequenceData, policies: dict[str, Pages], page_size: int = 10,
                   users: int | None = None, batch: int = 512) -> dict[str, float]:
    """Per policy: share of real test users whose next purchase is on the page it shows them."""
    examples = data.splits["test"][:users] if users else data.splits["test"]
    out = {}
    for name, make_pages in policies.items():
        hits = 0
        for start in range(0, len(examples), batch):
            chunk = examples[start:start + batch]
            hits += sum(e.target in page for e, page in zip(chunk, make_pages([e.history for e in chunk], page_size)))
        out[name] = hits / len(examples)
    return out


@dataclass
class Validation:
    hit_rate: float
    hit_rate_ci95: list[float]
    chance: float
    kendall_tau: float | None  # None when it is undefined (fewer than 2 policies, or all rates equal)
    kendall_tau_ci95: list[float] | None  # over shopper resamples; None when tau is undefined in most of them
    offline_recall: dict[str, float]
    simulated_click_rate: dict[str, float]
    decisions: list[Decision] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "decisions"}


def validate(simulator: Simulator, shoppers: list[Shopper], num_items: int, ab: ABReport,
             offline: dict[str, float], seed: int = 0) -> Validation:
    """(a) hit rate on pages that hold the real next purchase; (b) Kendall tau of simulated vs offline order."""
    pages = validation_pages(shoppers, num_items, ab.page_size, seed)
    decisions = [simulator.decide(shopper, page) for shopper, page in zip(shoppers, pages)]
    hits = [d.chose and d.item == s.next_item for d, s in zip(decisions, shoppers)]
    low, high = bootstrap_interval(hits, seed=seed)
    simulated = ab.click_rates()
    names = [name for name in simulated if name in offline]
    tau = kendall_tau([offline[n] for n in names], [simulated[n] for n in names]) if len(names) >= 2 else math.nan
    interval = _tau_interval(ab, names, offline, seed) if len(names) >= 2 else None
    return Validation(float(np.mean(hits)), [low, high], 1 / ab.page_size, None if math.isnan(tau) else tau,
                      interval, {n: offline[n] for n in names}, {n: simulated[n] for n in names}, decisions)


def _tau_interval(ab: ABReport, names: list[str], offline: dict[str, float], seed: int,
                  resamples: int = 500) -> list[float] | None:
    """95% percentile interval of Kendall's tau when the shoppers are resampled: a tau carried by a handful of
    decisions (ties broken by one invalid reply) shows up as an interval spanning zero."""
    clicks = np.array([[d.chose for d in ab.decisions[name]] for name in names], dtype=np.float64)  # (P, S)
    rng = np.random.default_rng(seed)
    truth = [offline[n] for n in names]
    taus = []
    for _ in range(resamples):
        rates = clicks[:, rng.integers(0, clicks.shape[1], clicks.shape[1])].mean(axis=1)
        if np.ptp(rates) > 0:
            taus.append(kendall_tau(truth, list(rates)))
    taus = [t for t in taus if not math.isnan(t)]
    if len(taus) < resamples / 2:
        return None
    low, high = np.percentile(taus, [2.5, 97.5])
    return [float(low), float(high)]


@dataclass
class SimulationReport:
    dataset: str
    ab: ABReport
    validation: Validation
    llm_failures: int | None = None  # decisions the LLM agent could not give (counted as skips)

    def to_dict(self) -> dict:
        out = {"dataset": self.dataset, **self.ab.to_dict(), "validation": self.validation.to_dict()}
        if self.llm_failures is not None:
            out["llm_failures"] = self.llm_failures
        return out

    def markdown(self) -> str:
        v = self.validation
        lines = [f"Simulated A/B test on {self.dataset}: {self.ab.shoppers} shoppers, a page of {self.ab.page_size} "
                 f"items per policy, simulator `{self.ab.simulator}`.", "",
                 "| policy | click or basket | basket | leave | offline Recall@page |", "|---|---|---|---|---|"]
        for row in self.ab.rows:
            cells = [f"{row[key]['rate']:.3f} [{row[key]['ci95'][0]:.3f}, {row[key]['ci95'][1]:.3f}]"
                     for key in ("click_rate", "basket_rate", "leave_rate")]
            lines.append(f"| {row['policy']} | {' | '.join(cells)} | {v.offline_recall.get(row['policy'], 0):.4f} |")
        tau = "undefined" if v.kendall_tau is None else f"{v.kendall_tau:.2f}"
        if v.kendall_tau_ci95 is not None:
            tau += f" [{v.kendall_tau_ci95[0]:.2f}, {v.kendall_tau_ci95[1]:.2f}]"
        lines += ["", f"Validation: picks the real next purchase on {v.hit_rate:.3f} of pages "
                      f"[{v.hit_rate_ci95[0]:.3f}, {v.hit_rate_ci95[1]:.3f}] (chance {v.chance:.3f}); "
                      f"Kendall tau of simulated vs offline order: {tau}."]
        return "\n".join(lines)


def run_simulation(context: SimulationContext, simulator: str | Simulator, policies: Sequence[str],
                   users: int = 100, page_size: int = 10, seed: int = 0, chat: ChatModel | None = None,
                   offline_users: int | None = None) -> SimulationReport:
    """The whole experiment (see the module docstring); ``simulator`` is a name of ``SIMULATORS`` or an object."""
    check_settings(simulator if isinstance(simulator, str) else None, policies, users, page_size)
    if isinstance(simulator, str):
        simulator = SIMULATORS[simulator].make(context, page_size, seed, chat)
    shoppers = build_shoppers(context.data, users, seed=seed)
    makers = {name: context.pages(name, seed) for name in policies}
    ab = simulate_ab(simulator, shoppers, makers, page_size, seed)
    offline = offline_recall(context.data, {name: context.pages(name, seed) for name in policies}, page_size,
                             offline_users)
    validation = validate(simulator, shoppers, context.data.num_items, ab, offline, seed)
    return SimulationReport(context.dataset, ab, validation, getattr(simulator, "failures", None))


def check_settings(simulator: str | None, policies: Sequence[str], users: int, page_size: int) -> None:
    """Refuse bad settings before any data or model loads."""
    if simulator is not None and simulator not in SIMULATORS:
        raise BadInput(f"unknown simulator {simulator!r}; choose from {', '.join(SIMULATORS)}")
    unknown = [p for p in policies if p not in POLICIES]
    if unknown or not policies:
        raise BadInput(f"unknown policies {unknown or '(none given)'}; choose from {', '.join(POLICIES)}")
    if len(set(policies)) != len(policies):
        raise BadInput(f"a policy is named twice in {list(policies)}")
    if users < 1:
        raise BadInput(f"--users must be at least 1, got {users}")
    if page_size < 2:
        raise BadInput(f"a page needs at least 2 items, got {page_size}")
