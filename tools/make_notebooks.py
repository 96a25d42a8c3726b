"""Write notebooks 03-05 (the cells live here as data so reviews read as Python diffs)."""

from __future__ import annotations

from nb import code, md, write

write("notebooks/03_llm_planning.ipynb", [
    md("""
# 03 · Multi-step planning with an LLM, grounded in the catalog

**Learning goals.** After this notebook you can
1. ask a chat model for *validated structured output* (a pydantic schema, constrained decoding, retries);
2. turn a goal ("brunch for four") into steps and needs, and ground every need in real catalog items;
3. steer a plan with follow-ups ("no dairy", "add something for dessert", "cheaper") instead of starting over;
4. read the trace of every prompt and reply, and see why product text never reaches the instructions.
"""),
    md("## 0 Global settings"),
    code("""
import json
import matplotlib.pyplot as plt

from kit.bundled_catalogs import open_catalog
from kit.clip.encoder import ItemEncoder
from kit.llm.factory import load_chat_model, describe_llm
from kit.planning import Planner
from kit.planning.prompts import PLAN
from kit.search import CatalogSearch
"""),
    code("""
# Parameters: fast CPU defaults (the tests run these).
LLM = None            # None: $KIT_LLM or the embedded SmolLM2-135M; e.g. "openai:http://localhost:11434/v1/qwen2.5:7b"
GOAL = "I'm hosting a brunch for four on Sunday"
FOLLOW_UPS = ["no dairy", "add something for dessert", "cheaper"]
""", tag="parameters"),
    md("""
## 1 The model and the catalog
The planner needs two things: a chat model (any backend behind `ChatModel`) and a search engine over one catalog.
"""),
    code("""
llm = load_chat_model(LLM)
search = CatalogSearch.build(open_catalog("grocery_store"), ItemEncoder.from_pretrained("shopkit-lit"))
planner = Planner(llm, search)
print("LLM:", describe_llm(LLM), "| catalog:", search.catalog.name, len(search.catalog), "items")
print("the shop sells:", planner.catalog_summary()[:200], "...")
"""),
    md("""
## 2 The prompt and the schema
The prompt is a versioned template with few-shot examples. The reply must validate against `PlanDraft`;
locally, lm-format-enforcer only lets the model emit tokens that keep the JSON valid.
"""),
    code("""
for m in PLAN.render(goal=GOAL, catalog_summary="..."):
    print(f"[{m['role']}] {m['content'][:160]}")
print("a few-shot reply:", PLAN.examples[0][1][:300])
"""),
    md("## 3 Plan and ground"),
    code("""
plan = planner.plan(GOAL)
for step in plan.steps:
    print("-", step.title)
    for g in step.needs:
        print(f"    {g.need.item:25s} ->", g.chosen.title if g.chosen else f"(none: {g.note})")
print("basket:", [(e.title, e.quantity) for e in plan.basket])
assert all(e.item_id in search.catalog for e in plan.basket)  # nothing invented
"""),
    md("How close is each chosen item to its need? (dense similarity of the query and the item)"),
    code("""
needs = [g for s in plan.steps for g in s.needs]
plt.barh([g.need.item for g in needs], [g.chosen.score if g.chosen else 0 for g in needs])
plt.xlabel("similarity of the chosen item (0 = no match)"); plt.tight_layout(); plt.show()
"""),
    md("## 4 Steering"),
    code("""
steered = plan
for request in FOLLOW_UPS:
    steered = planner.steer(steered, request)
    print(f"after {request!r}:", [e.title for e in steered.basket])
print("notes:", steered.notes)
print("constraints:", steered.constraints.model_dump())
"""),
    md("## 5 The trace: every call, its prompt and its validated reply"),
    code("""
for r in planner.log.records:
    print(f"--- {r.purpose} ({r.seconds:.1f} s, {'valid' if r.error is None else 'retried: ' + r.error})")
    print("user:", r.messages[-1]["content"][:200])
    print("reply:", r.reply[:300])
"""),
    code("""
results = {"basket": len(plan.basket), "all_in_catalog": all(e.item_id in search.catalog for e in steered.basket),
           "calls": len(planner.log), "steps": len(plan.steps)}
print("RESULTS_JSON " + json.dumps(results))
""", tag="results"),
    md("""
## 6 Exercise
Ask for a plan for "a picnic in the park", then remove one of its needs with a follow-up. Which edit did
`read_edit` recognise, and did the LLM get called for it? (Solution hidden below.)
"""),
    code("""
# Solution
from kit.planning import read_edit
picnic = planner.plan("a picnic in the park")
first = picnic.steps[0].needs[0].need.item
print("edit:", read_edit(f"remove the {first}"))   # recognised without a model call
calls = len(planner.log)
print([e.title for e in planner.steer(picnic, f"remove the {first}").basket], "| new LLM calls:", len(planner.log) - calls)
""", tag="solution", hidden=True),
    md("""
## References
- Willard & Louf, *Efficient Guided Generation for Large Language Models* (outlines), 2023; lm-format-enforcer.
- Wang et al., *Plan-and-Solve Prompting*, ACL 2023.
- Greshake et al., *Not what you've signed up for: indirect prompt injection*, AISec 2023.
"""),
])

write("notebooks/04_llm4rec_paradigms.ipynb", [
    md("""
# 04 · Four ways to use LLMs for recommendation, and their biases

**Learning goals.** After this notebook you can
1. name the four paradigms (embeddings + recommender, LLM features + recommender, LLM as ranker, RAG) and run each;
2. evaluate them side by side on one task (Amazon Scientific next-item ranking with sampled candidates);
3. measure an LLM ranker's position and popularity bias, and mitigate position bias by bootstrapping over orders.
"""),
    md("## 0 Global settings"),
    code("""
import json
import numpy as np
import matplotlib.pyplot as plt

from kit.llm.factory import load_chat_model, describe_llm
from kit.llm.paradigms.evaluate import ParadigmSettings, compare_paradigms
from kit.llm.paradigms.task import ItemTexts, build_ranking_cases
from kit.sequences import load_amazon_scientific
"""),
    code("""
# Parameters: fast CPU defaults (the tests run these; the benchmark uses 30 users and 20 candidates).
LLM = None
N_USERS = 4
N_FIT_USERS = 4
N_CANDIDATES = 10
N_SHUFFLES = 2
""", tag="parameters"),
    md("## 1 The task"),
    code("""
data = load_amazon_scientific()
texts = ItemTexts(data)
case = build_ranking_cases(data, n_users=1, n_candidates=N_CANDIDATES)[0]
print("history:"); [print("  ", texts.text(i)[:90]) for i in case.history[-3:]]
print("candidates (the real next item is marked):")
for i in case.candidates:
    print(" *" if i == case.target else "  ", texts.text(i)[:90])
"""),
    md("## 2 Run the four paradigms and the baselines"),
    code("""
llm = load_chat_model(LLM)
settings = ParadigmSettings(n_users=N_USERS, n_fit_users=N_FIT_USERS, n_candidates=N_CANDIDATES, n_shuffles=N_SHUFFLES)
report = compare_paradigms(llm, settings, data=data, texts=texts)
print(report.markdown())
"""),
    code("""
names = [r["name"] for r in report.rows]
plt.barh(names, [r["NDCG@10"] for r in report.rows]); plt.xlabel("NDCG@10"); plt.gca().invert_yaxis()
plt.title(f"{settings.n_users} users, {settings.n_candidates} candidates, LLM {describe_llm(LLM)}"); plt.tight_layout(); plt.show()
"""),
    md("""
## 3 Position bias
Where was the item the ranker put first *shown* in the list? Without bias every position wins 1/N of the time.
Small models often just repeat the first numbers; bootstrapping over shuffled orders spreads that out.
"""),
    code("""
positions = np.arange(1, N_CANDIDATES + 1)
plt.bar(positions - 0.2, report.position_bias_single, width=0.4, label="one order")
plt.bar(positions + 0.2, report.position_bias_bootstrap, width=0.4, label=f"bootstrap, {N_SHUFFLES} orders")
plt.axhline(1 / N_CANDIDATES, ls="--", c="k", label="no bias"); plt.xlabel("presented position of the top choice")
plt.legend(); plt.show()
"""),
    md("## 4 Popularity bias\nSpearman correlation between an item's popularity and the rank it got (+1: popular first)."),
    code("""
for r in report.rows:
    print(f"{r['name']:40s} {r['popularity_bias']:+.2f}")
"""),
    code("""
results = {"rows": len(report.rows), "position_sum": float(sum(report.position_bias_single)),
           "calls": len(report.log), "metrics_ok": all(0 <= r["MRR"] <= 1 for r in report.rows)}
print("RESULTS_JSON " + json.dumps(results))
""", tag="results"),
    md("""
## 5 Exercise
Put the real next item always *last* in the candidate list and rank with the single-order LLM ranker.
How often is it ranked first, compared with the random order? (Solution hidden below.)
"""),
    code("""
# Solution
from dataclasses import replace
from kit.llm.paradigms.reranker import LLMRanker
ranker = LLMRanker(llm, texts, n_shuffles=1)
cases = build_ranking_cases(data, n_users=N_USERS, n_candidates=N_CANDIDATES)
last = [replace(c, candidates=tuple([i for i in c.candidates if i != c.target] + [c.target])) for c in cases]
print("target first, shuffled:", np.mean([ranker.rank(c)[0] == c.target for c in cases]),
      "| target shown last:", np.mean([ranker.rank(c)[0] == c.target for c in last]))
""", tag="solution", hidden=True),
    md("""
## References
- Hou et al., *Large Language Models are Zero-Shot Rankers for Recommender Systems*, ECIR 2024.
- Wu et al., *A Survey on Large Language Models for Recommendation*, 2023 (the paradigms).
- Hou et al., *Towards Universal Sequence Representation Learning for Recommender Systems* (UniSRec, the data), KDD 2022.
"""),
])

write("notebooks/05_speech_and_imagery.ipynb", [
    md("""
# 05 · Speech in, speech out, and generated product images

**Learning goals.** After this notebook you can
1. transcribe a spoken request with whisper (faster-whisper) and measure its word error rate;
2. answer with a synthetic voice;
3. train a small text-conditioned diffusion model on product photos, and generate, vary and re-background images;
4. tell generated images from photos: every generated image carries a label in its file.
"""),
    md("## 0 Global settings"),
    code("""
import json, tempfile
from pathlib import Path
import numpy as np
import matplotlib.pyplot as plt
import torch, jiwer

from kit.bundled_catalogs import open_catalog
from kit.images import load_image
from kit.imagery import TextToProductImage, ProductImageVariation, BackgroundReplacement, product_prompt, read_label
from kit.imagery.train import DiffusionTrainConfig, train_diffusion
from kit.registry import REGISTRY
from kit.speech import load_transcriber, speak
"""),
    code("""
# Parameters: fast CPU defaults (the tests run these).
REQUEST = "I need green apples and a bottle of milk"
USE_CACHED_MODEL = True   # use a trained shopkit-tiny-diffusion when the cache has one
TRAIN_STEPS = 60          # otherwise: a quick training run (the real model trains for thousands of steps)
RESOLUTION = 32
SAMPLING_STEPS = 25
PRODUCTS = ["Granny-Smith", "Banana", "Arla-Standard-Milk", "Red-Bell-Pepper"]
""", tag="parameters"),
    md("## 1 Speech in"),
    code("""
tmp = Path(tempfile.mkdtemp())
audio, rate = speak(REQUEST, voice="hibari", out=tmp / "request.wav")   # stands in for a microphone recording
transcriber = load_transcriber("whisper-tiny.en")
heard = transcriber.transcribe(tmp / "request.wav")
wer = jiwer.wer(REQUEST.lower(), heard.text.lower().strip(".").replace(",", ""))
print(f"said:  {REQUEST}\\nheard: {heard.text}\\nWER: {wer:.2f}; segments:", [(s.start, s.end) for s in heard.segments])
plt.figure(figsize=(10, 2)); plt.plot(np.arange(len(audio)) / rate, audio, lw=0.3); plt.xlabel("seconds"); plt.show()
"""),
    md("## 2 Speech out"),
    code("""
reply, rate = speak("I found green apples and milk for you.", voice="espeak-ng", out=tmp / "reply.wav")
print(f"reply: {len(reply) / rate:.1f} s of audio at {rate} Hz ->", tmp / "reply.wav")
"""),
    md("""
## 3 A small text-to-image model
No public text-to-image weights install here, so the kit trains its own: a diffusers `UNet2DConditionModel`
on the grocery photos, conditioned on the MiniLM embedding of the product name.
"""),
    code("""
if USE_CACHED_MODEL and REGISTRY.status("shopkit-tiny-diffusion").available:
    folder = REGISTRY.resolve("shopkit-tiny-diffusion").path
else:
    config = DiffusionTrainConfig(resolution=RESOLUTION, channels=(16, 32, 64), steps=TRAIN_STEPS, batch_size=8,
                                  max_images=256, checkpoint_every=TRAIN_STEPS // 2, lr=1e-3)
    folder = train_diffusion(config, out=tmp / "tiny-diffusion", progress=False)
record = json.loads((folder / "training.json").read_text())
plt.plot(record["losses"], lw=0.5, label="training batches")
plt.plot(*zip(*record["fixed_loss"]), "o-", label="fixed evaluation batch"); plt.yscale("log"); plt.xlabel("step")
plt.legend(); plt.show()
"""),
    md("## 4 Generated next to real, per product"),
    code("""
catalog = open_catalog("grocery_store")
generate = TextToProductImage.from_pretrained("shopkit-tiny-diffusion", path=folder, device="cpu")
fig, ax = plt.subplots(2, len(PRODUCTS), figsize=(3 * len(PRODUCTS), 6))
for j, item_id in enumerate(PRODUCTS):
    item = catalog[item_id]
    image = generate(product_prompt(item), num_inference_steps=SAMPLING_STEPS, generator=torch.Generator().manual_seed(j))
    ax[0, j].imshow(load_image(item.image)); ax[0, j].set_title(item.title, fontsize=9)
    ax[1, j].imshow(image.image); ax[1, j].set_title("generated", fontsize=9)
    for a in ax[:, j]: a.axis("off")
plt.show()
path = image.save(tmp / "generated.png")
print("label in the file:", read_label(path))
"""),
    md("## 5 Variation and a new background"),
    code("""
photo = load_image(catalog["Banana"].image)
vary = ProductImageVariation(generate.pipe, generate.name, generate.encode_text)
background = BackgroundReplacement(generate.pipe, generate.name, generate.encode_text)
variant = vary(photo, product_prompt(catalog["Banana"]), strength=0.5, num_inference_steps=SAMPLING_STEPS,
               generator=torch.Generator().manual_seed(0))
small = photo.resize((generate.pipe.resolution,) * 2)
moved = background(small, product_prompt(catalog["Banana"], "on a picnic table"), num_inference_steps=SAMPLING_STEPS,
                   generator=torch.Generator().manual_seed(0))
fig, ax = plt.subplots(1, 3, figsize=(9, 3))
for a, im, title in zip(ax, [small, variant.image, moved.image], ["photo", "variation", "new background"]):
    a.imshow(im); a.set_title(title); a.axis("off")
plt.show()
"""),
    code("""
results = {"wer": wer, "first_loss": record["fixed_loss"][0][1], "last_loss": record["fixed_loss"][-1][1],
           "labelled": read_label(path).get("ai_generated") == "true"}
print("RESULTS_JSON " + json.dumps(results))
""", tag="results"),
    md("""
## 6 Exercise
Transcribe the same request spoken by espeak-ng at 120 and at 200 words a minute. Which is understood better?
(Solution hidden below.)
"""),
    code("""
# Solution
import subprocess
for wpm in (120, 200):
    subprocess.run(["espeak-ng", "-s", str(wpm), "-w", str(tmp / f"{wpm}.wav"), REQUEST], check=True)
    text = transcriber.transcribe(tmp / f"{wpm}.wav").text
    print(wpm, "wpm:", text, "| WER", round(jiwer.wer(REQUEST.lower(), text.lower().strip(".").replace(",", "")), 2))
""", tag="solution", hidden=True),
    md("""
## References
- Radford et al., *Robust Speech Recognition via Large-Scale Weak Supervision* (Whisper), 2022; faster-whisper.
- Ho et al., *Denoising Diffusion Probabilistic Models*, NeurIPS 2020; Ho & Salimans, *Classifier-Free Diffusion Guidance*, 2022.
- Meng et al., *SDEdit*, ICLR 2022; Lugmayr et al., *RePaint*, CVPR 2022.
- Klasson et al., *A Hierarchical Grocery Store Image Dataset with Visual and Semantic Labels*, WACV 2019.
"""),
])

write("notebooks/00_quick_start.ipynb", [
    md("""
# 00 · Quick start: search, plan, recommend in five minutes

**Learning goals.** After this notebook you can
1. open a bundled catalog and search it by text and by photo;
2. turn a goal into a grounded basket with the planner;
3. ask what goes with a basket.
The other notebooks take each step apart; this one only shows that everything is in place.
"""),
    md("## 0 Global settings"),
    code("""
import json
import matplotlib.pyplot as plt

from kit.bundled_catalogs import open_catalog
from kit.clip.encoder import ItemEncoder
from kit.images import load_image
from kit.search import CatalogSearch
from kit.assistant.completion import EmbeddingCompletion
"""),
    code("""
# Parameters: fast CPU defaults (the tests run these).
QUERY = "green apples"
GOAL = "a picnic in the park"
LLM = None   # None: the embedded SmolLM2-135M
""", tag="parameters"),
    md("## 1 Load and search"),
    code("""
catalog = open_catalog("grocery_store")
search = CatalogSearch.build(catalog, ItemEncoder.from_pretrained("shopkit-lit"))
hits = search.hybrid(QUERY, k=4)
fig, ax = plt.subplots(1, 4, figsize=(12, 3))
for a, hit in zip(ax, hits):
    a.imshow(load_image(hit.item.image)); a.set_title(hit.title, fontsize=9); a.axis("off")
plt.show()
"""),
    md("## 2 Search by photo"),
    code("""
photo = catalog["Granny-Smith"].image
print([r.title for r in search.image(photo, k=3)])
"""),
    md("## 3 Plan"),
    code("""
from kit.llm.factory import load_chat_model
from kit.planning import Planner

plan = Planner(load_chat_model(LLM), search).plan(GOAL)
print([s.title for s in plan.steps]); print("basket:", [e.title for e in plan.basket]); print("unmatched:", plan.unmatched)
"""),
    md("## 4 Recommend what goes with it"),
    code("""
basket = [e.item_id for e in plan.basket] or [hits[0].id]
for suggestion in EmbeddingCompletion(search).complete(basket, k=4):
    print(suggestion.item_id, round(suggestion.score, 3), suggestion.reason)
"""),
    code("""
results = {"hits": len(hits), "photo_top1": search.image(photo, k=1)[0].id, "plan_steps": len(plan.steps)}
print("RESULTS_JSON " + json.dumps(results))
""", tag="results"),
    md("## 5 Exercise\nSearch for 'oat milk' with keywords only (`search.bm25`) and with embeddings only (`search.text`). "
       "Which one finds both oat drinks? (Solution hidden below.)"),
    code("""
# Solution
print("bm25: ", [r.title for r in search.bm25("oat milk", k=4)])
print("dense:", [r.title for r in search.text("oat milk", k=4)])
""", tag="solution", hidden=True),
    md("""
## References
- The kit's README and notebooks 01-06; Zhai et al., *LiT*, CVPR 2022 (the image-text model).
"""),
])

write("notebooks/06_end_to_end_assistant.ipynb", [
    md("""
# 06 · The assistant end to end, turn by turn

**Learning goals.** After this notebook you can
1. drive the assistant with text, a photo and speech, as the Gradio app does;
2. follow the state across turns ("the second one", the basket, a plan and its follow-ups);
3. read each turn's trace: which tool ran, who chose it (rules or the LLM), how long it took.
"""),
    md("## 0 Global settings"),
    code("""
import json, tempfile
from pathlib import Path
import matplotlib.pyplot as plt

from kit.assistant import Assistant
from kit.bundled_catalogs import open_catalog
from kit.clip.encoder import ItemEncoder
from kit.llm.factory import load_chat_model
from kit.search import CatalogSearch
from kit.speech import speak
"""),
    code("""
# Parameters: fast CPU defaults (the tests run these).
LLM = None                      # the planner's model; routing uses rules unless ROUTE_WITH_LLM
ROUTE_WITH_LLM = False
TURNS = ["apples", "tell me about the second one", "add the second one", "what goes well with it?",
         "I'm hosting a brunch for four on Sunday", "no dairy"]
""", tag="parameters"),
    md("## 1 Build the assistant"),
    code("""
search = CatalogSearch.build(open_catalog("grocery_store"), ItemEncoder.from_pretrained("shopkit-lit"))
llm = load_chat_model(LLM)
assistant = Assistant({"grocery_store": search}, planner_llm=lambda: llm, router_llm=llm if ROUTE_WITH_LLM else None)
state = assistant.new_state()
"""),
    md("## 2 A conversation in text"),
    code("""
trace = []
for text in TURNS:
    reply = assistant.turn(state, text)
    state = reply.state
    trace.append({"turn": text, "tool": reply.tool, "by": reply.routed_by, "seconds": round(reply.seconds, 2),
                  "shown": [c.title for c in reply.cards][:3], "basket": len(state.basket)})
    print(f"> {text}\\n{reply.text}\\n")
"""),
    md("## 3 A photo and a spoken request"),
    code("""
tmp = Path(tempfile.mkdtemp())
reply = assistant.turn(state, image=search.catalog["Red-Delicious"].image)
trace.append({"turn": "(photo)", "tool": reply.tool, "by": reply.routed_by, "seconds": round(reply.seconds, 2),
              "shown": [c.title for c in reply.cards][:3], "basket": len(reply.state.basket)})
speak("show me some lemons", voice="hibari", out=tmp / "turn.wav")
reply = assistant.turn(reply.state, audio=tmp / "turn.wav")
trace.append({"turn": f"(voice) {reply.heard}", "tool": reply.tool, "by": reply.routed_by,
              "seconds": round(reply.seconds, 2), "shown": [c.title for c in reply.cards][:3], "basket": len(reply.state.basket)})
for row in trace:
    print(row)
"""),
    md("## 4 Where the time goes"),
    code("""
plt.barh([f"{r['tool']}: {r['turn'][:28]}" for r in trace], [r["seconds"] for r in trace]); plt.gca().invert_yaxis()
plt.axvline(3, ls="--", c="k", label="3 s"); plt.xlabel("seconds for the turn"); plt.legend(); plt.tight_layout(); plt.show()
"""),
    md("## 5 The model calls behind the plan"),
    code("""
for r in assistant.log.records:
    print(f"{r.purpose:18s} {r.seconds:5.1f} s  {r.reply[:120]}")
"""),
    code("""
results = {"turns": len(trace), "tools": [r["tool"] for r in trace],
           "search_seconds": max(r["seconds"] for r in trace if r["tool"] in ("search", "image_search"))}
print("RESULTS_JSON " + json.dumps(results))
""", tag="results"),
    md("## 6 Exercise\nSwitch on `ROUTE_WITH_LLM` and compare which tools the LLM picks with the rules' picks. (Solution hidden below.)"),
    code("""
# Solution
from kit.assistant import route, route_by_rules
for text in TURNS:
    print(f"{text:45s} rules: {route_by_rules(text, has_plan=True).tool:10s} llm: {route(text, llm, has_plan=True)[0].tool}")
""", tag="solution", hidden=True),
    md("""
## References
- Yao et al., *ReAct: Synergizing Reasoning and Acting in Language Models*, ICLR 2023 (tool choice).
- Gradio Blocks documentation (the app in apps/assistant.py).
"""),
])
