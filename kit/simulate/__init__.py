"""Simulated shoppers: stand-ins for real users that compare recommenders before an A/B test.

A shopper is built from a real user's purchase history (:mod:`kit.simulate.shoppers`); a simulator decides
what that shopper does with a page of items (click, add to basket, skip, leave; :mod:`kit.simulate.decisions`).
Two simulators share that interface: an LLM agent (:mod:`kit.simulate.agent`) and a conditional-logit choice
model fitted on train purchases (:mod:`kit.simulate.choice`), the baseline a simulator must beat. Pages come
from the recommenders of :mod:`kit.simulate.policies`; :mod:`kit.simulate.experiment` runs the simulated A/B
test and checks the simulator against real held-out purchases.
"""

from kit.simulate.agent import LLMShopper
from kit.simulate.choice import ChoiceModelShopper
from kit.simulate.decisions import ACTIONS, Decision, Simulator
from kit.simulate.experiment import (SIMULATORS, ABReport, SimulationContext, SimulationReport, Validation,
                                     offline_recall, run_simulation, simulate_ab, validate)
from kit.simulate.policies import POLICIES, Policy
from kit.simulate.shoppers import Shopper, build_shoppers, short_title

__all__ = ["ACTIONS", "ABReport", "ChoiceModelShopper", "Decision", "LLMShopper", "POLICIES", "Policy",
           "SIMULATORS", "Shopper", "SimulationContext", "SimulationReport", "Simulator", "Validation",
           "build_shoppers", "offline_recall", "run_simulation", "short_title", "simulate_ab", "validate"]
