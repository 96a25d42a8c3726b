# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python (ShopKit)
#     language: python
#     name: shopkit
# ---

# %% [markdown]
# # 04 · Four ways to use LLMs for recommendation, and their biases
#
# **Learning goals.** After this notebook you can
# 1. name the four paradigms (embeddings + recommender, LLM features + recommender, LLM as ranker, RAG) and run each;
# 2. evaluate them side by side on one task (Amazon Scientific next-item ranking with sampled candidates);
# 3. measure an LLM ranker's position and popularity bias, and mitigate position bias by bootstrapping over orders.
#
# **Data:** `amazon_scientific` (purchase sequences with item titles). **Models:** SmolLM2-135M (or your server
# via `LLM`), MiniLM for the embeddings. **Run time:** about a minute and a half on 2 CPU cores.

# %% [markdown]
# ## 0 Global settings

# %%
from kit.logs import configure_logging

configure_logging()  # one line per step from the kit, no library chatter (verbose=True shows it)

import json
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np

from kit.llm.factory import describe_llm, load_chat_model
from kit.llm.paradigms.evaluate import ParadigmSettings, compare_paradigms
from kit.llm.paradigms.reranker import LLMRanker
from kit.llm.paradigms.task import ItemTexts, build_ranking_cases
from kit.sequences import load_amazon_scientific

# %% tags=["parameters"]
# Parameters: fast CPU defaults (the tests run these; the benchmark uses 30 users and 20 candidates).
LLM = None
N_USERS = 4
N_FIT_USERS = 4
N_CANDIDATES = 10
N_SHUFFLES = 2

# %% [markdown]
# ## 1 The task
# One task for all four paradigms keeps the comparison fair: given a shopper's purchase history, rank a
# short list of candidates (the real next purchase plus sampled others) so the real one comes first.
# Sampled candidates keep the LLM's prompt short; the price is that scores look better than full ranking.

# %%
data = load_amazon_scientific()
texts = ItemTexts(data)
case = build_ranking_cases(data, n_users=1, n_candidates=N_CANDIDATES)[0]
print("history:")
for i in case.history[-3:]:
    print("  ", texts.text(i)[:90])
print("candidates (the real next item is marked):")
for i in case.candidates:
    print(" *" if i == case.target else "  ", texts.text(i)[:90])

# %% [markdown]
# **What you should see:** three lab products the shopper bought, then ten candidates with one marked `*`.
# Could *you* guess the marked one from the history? That is the LLM ranker's job.

# %% [markdown]
# ## 2 Run the four paradigms and the baselines
# - **Embeddings + recommender**: item texts become vectors; rank candidates by closeness to the history.
# - **LLM features + recommender**: the LLM writes features (a user profile) that a classic model uses.
# - **LLM as ranker**: the candidates go into the prompt and the LLM returns an order.
# - **RAG**: retrieve with embeddings first, then let the LLM rank the short list.
# The baselines (random, popularity) tell us what "good" means on this data.
#
# **Predict before you run:** will the 135M LLM ranker beat popularity?

# %%
llm = load_chat_model(LLM)
settings = ParadigmSettings(n_users=N_USERS, n_fit_users=N_FIT_USERS, n_candidates=N_CANDIDATES, n_shuffles=N_SHUFFLES)
report = compare_paradigms(llm, settings, data=data, texts=texts)
print(report.markdown())

# %%
names = [r["name"] for r in report.rows]
plt.barh(names, [r["NDCG@10"] for r in report.rows]); plt.xlabel("NDCG@10"); plt.gca().invert_yaxis()
plt.title(f"{settings.n_users} users, {settings.n_candidates} candidates, LLM {describe_llm(LLM)}"); plt.tight_layout(); plt.show()

# %% [markdown]
# **What you should see:** a table of seven rows (four paradigms, their variants and the baselines) and a bar
# chart. With four users the numbers are noisy; docs/benchmarks.md has the 30-user run. A tiny model as
# ranker is usually close to random: the lesson is to measure before trusting an LLM's ranking.

# %% [markdown]
# ## 3 Position bias
# An LLM reading a list tends to favour what it reads first (or last). If we count where the ranker's top
# choice was *shown*, an unbiased ranker spreads evenly: each position wins 1/N of the time. Bootstrapping
# asks several times with shuffled orders and averages the ranks, which spreads a bias out.

# %%
positions = np.arange(1, N_CANDIDATES + 1)
plt.bar(positions - 0.2, report.position_bias_single, width=0.4, label="one order")
plt.bar(positions + 0.2, report.position_bias_bootstrap, width=0.4, label=f"bootstrap, {N_SHUFFLES} orders")
plt.axhline(1 / N_CANDIDATES, ls="--", c="k", label="no bias"); plt.xlabel("presented position of the top choice")
plt.legend(); plt.show()

# %% [markdown]
# **What you should see:** with one order, tall bars at the first positions (the small model repeats the
# first numbers); the bootstrap bars are flatter.

# %% [markdown]
# ## 4 Popularity bias
# Does the ranker prefer items many people bought, whatever the shopper's history? The Spearman correlation
# between an item's popularity and the rank it got answers that (+1: popular first, 0: no preference).

# %%
for r in report.rows:
    print(f"{r['name']:40s} {r['popularity_bias']:+.2f}")

# %% [markdown]
# **What you should see:** popularity itself near +1 by construction. The rest vary a lot with only four users;
# compare with the 30-user run in docs/benchmarks.md before drawing conclusions.

# %% [markdown]
# ## 5 Exercise
# Put the real next item always *last* in the candidate list and rank with the single-order LLM ranker
# (`LLMRanker(llm, texts, n_shuffles=1)`). How often is it ranked first, compared with the shuffled order?
# Predict from the position-bias plot before you run it.

# %%
# Your turn: write your code here.

# %% [markdown] tags=["solution"]
# <details><summary>Solution (click to open)</summary>
#
# ```python
# ranker = LLMRanker(llm, texts, n_shuffles=1)
# cases = build_ranking_cases(data, n_users=N_USERS, n_candidates=N_CANDIDATES)
# last = [replace(c, candidates=tuple([i for i in c.candidates if i != c.target] + [c.target])) for c in cases]
# print("target first, shuffled:", np.mean([ranker.rank(c)[0] == c.target for c in cases]),
#       "| target shown last:", np.mean([ranker.rank(c)[0] == c.target for c in last]))
# ```
#
# A ranker that favours the first positions almost never puts the last-shown item first.
# </details>

# %% [markdown]
# ## References
# - Hou et al., *Large Language Models are Zero-Shot Rankers for Recommender Systems*, ECIR 2024.
# - Wu et al., *A Survey on Large Language Models for Recommendation*, 2023 (the paradigms).
# - Hou et al., *Towards Universal Sequence Representation Learning for Recommender Systems* (UniSRec, the data), KDD 2022.

# %% tags=["results"]
# For the tests: the numbers this run produced (notebooks/README.md lists what they must be).
results = {"rows": len(report.rows), "mrr": {r["name"]: r["MRR"] for r in report.rows},
           "position_sum": float(sum(report.position_bias_single)), "calls": len(report.log)}
print("RESULTS_JSON " + json.dumps(results))
