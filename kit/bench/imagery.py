"""Generated imagery (issue 37): does the label-conditioned model draw what was asked, how close are its
pictures to real photos, and how fast is it.

- Requests: tests/data/imagery_requests.jsonl, written before the model was run on them: for each of the 20
  commonest article types among the fashion catalog's held-out (test) items, its commonest (colour, gender).
  Ten samples each (seeds 0-9, 25 DDIM steps, guidance 3).
- Read back: the catalog's own photo attribute heads (kit/enrich: logistic regressions over the tuned photo
  tower and a colour histogram) read each sample's article type, colour and gender. Beside them, the same
  heads on: samples of the all-null request (the strongest trivial baseline: what an unconditional model
  matches by chance) and the real test photos of each request downscaled to the model's resolution (the
  ceiling at that resolution).
- Frechet distance (FID-style) and kernel distance (KID, cubic polynomial kernel, unbiased) between samples and
  the held-out photos at the model's resolution, in the pooled 1,280-d features of the frozen ImageNet
  efficientnet-lite0 trunk (the kit's image tower; not Inception, so the numbers compare within this table
  only), along training from the snapshots the run saved.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from kit.bench.records import Figure, Line, Panel, Section, Table, Target, Text

MODEL = "shopkit-fashion-diffusion"
REQUESTS = Path(__file__).resolve().parents[2] / "tests" / "data" / "imagery_requests.jsonl"
ATTRIBUTES = ("articleType", "baseColour", "gender")
SAMPLES, STEPS, GUIDANCE = 10, 25, 3.0
CURVE_POINTS = 5  # snapshots scored along training (200 samples each, a few minutes per point on 2 cores)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2) of two feature sets (rows are samples)."""
    from scipy import linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * np.real(root)))


def kernel_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased squared MMD with the KID kernel k(x, y) = (x.y / d + 1)^3."""
    d = a.shape[1]
    kaa, kbb, kab = ((x @ y.T / d + 1) ** 3 for x, y in ((a, a), (b, b), (a, b)))
    m, n = len(a), len(b)
    return float((kaa.sum() - np.trace(kaa)) / (m * (m - 1)) + (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
                 - 2 * kab.mean())


def _save(images, folder: Path, prefix: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [image.save(folder / f"{prefix}-{i:04d}.png") or folder / f"{prefix}-{i:04d}.png" for i, image in enumerate(images)]


def imagery(quick: bool = False) -> Section:
    import torch
    from PIL import Image
    from safetensors.torch import load_file

    from kit.bundled_catalogs import item_split, open_catalog
    from kit.catalog import Item
    from kit.clip.lit import image_trunk_features
    from kit.enrich.features import item_features, load_towers
    from kit.enrich.recipe import saved_heads
    from kit.errors import KitError, ModelNotAvailable
    from kit.files import read_jsonl
    from kit.imagery.label_pipeline import LabelConditionedPipeline
    from kit.imagery.model_card import write_label_model_card
    from kit.registry import REGISTRY

    title = "Generated imagery"
    try:
        folder = REGISTRY.resolve(MODEL).path
        heads = saved_heads("fashion_products", "photo")
    except (ModelNotAvailable, KitError) as missing:
        return Section(title=title, quick=quick, blocks=[Text(f"_Not measured: {missing}. Train the model "
                       "(`python -m kit imagery train --minutes 60`) and the photo heads (`python -m kit enrich "
                       "train --catalog fashion_products --view photo`) first._")])
    record = json.loads((folder / "training.json").read_text())
    resolution = record["config"]["resolution"]
    pipe = LabelConditionedPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    requests = read_jsonl(REQUESTS, lambda row: {"labels": dict(row["labels"]), "text": row["text"]},
                          "a request: {\"labels\": {articleType, baseColour, gender}, \"text\": ...}")
    requests = requests[:4] if quick else requests
    samples = 2 if quick else SAMPLES
    towers = load_towers(next(iter(heads.values())).photo_tower_id)
    frozen = load_towers()
    work = Path(tempfile.mkdtemp(prefix="shopkit-imagery-bench-"))

    def draw(request: dict, n: int) -> list:
        return pipe([request] * n, num_inference_steps=STEPS, guidance_scale=GUIDANCE,
                    generator=torch.Generator().manual_seed(0)).images

    def read_back(paths: list[Path]) -> dict[str, list[str]]:
        items = [Item(id=p.stem, title="", image=p) for p in paths]
        features = item_features(items, "photo", towers)
        return {a: heads[a].predict(features)[0] for a in ATTRIBUTES}

    def matches(paths: list[Path], wanted: list[dict]) -> dict[str, float]:
        read = read_back(paths)
        hits = {a: np.array([r == w[a] for r, w in zip(read[a], wanted)]) for a in ATTRIBUTES}
        hits["all three"] = np.logical_and.reduce([hits[a] for a in ATTRIBUTES])
        return {k: float(v.mean()) for k, v in hits.items()}

    # 1. speed: one image, and ten in one batch, at the default steps
    started = time.perf_counter()
    pipe(requests[0]["labels"], num_inference_steps=STEPS, generator=torch.Generator().manual_seed(0))
    one = time.perf_counter() - started
    started = time.perf_counter()
    generated = draw(requests[0]["labels"], samples)
    per_image_batched = (time.perf_counter() - started) / samples
    # 2. what the heads read back: requested, unconditional, and real test photos at the model's resolution
    paths, wanted = _save(generated, work / "drawn", "r00"), [requests[0]["labels"]] * samples
    for index, request in enumerate(requests[1:], start=1):
        paths += _save(draw(request["labels"], samples), work / "drawn", f"r{index:02d}")
        wanted += [request["labels"]] * samples
    asked = matches(paths, wanted)
    null_paths = _save(pipe([{}] * len(paths), num_inference_steps=STEPS, guidance_scale=0.0,
                            generator=torch.Generator().manual_seed(1)).images, work / "null", "n")
    by_chance = matches(null_paths, wanted)
    catalog = open_catalog("fashion_products")
    test = [item for item in item_split(catalog, 0.2, 0)[1] if item.image is not None]

    def small(item: Item) -> Image.Image:
        return Image.open(item.image).convert("RGB").resize((resolution, resolution), Image.BICUBIC)

    real_paths, real_wanted = [], []
    for index, request in enumerate(requests):
        same = [i for i in test if all(i.attributes.get(a) == request["labels"][a] for a in ATTRIBUTES)][:samples]
        real_paths += _save([small(i) for i in same], work / "real", f"r{index:02d}")
        real_wanted += [request["labels"]] * len(same)
    ceiling = matches(real_paths, real_wanted)
    # 3. Frechet and kernel distances to the held-out photos, along training
    reference = test[:400] if quick else test
    reference_paths = _save([small(i) for i in reference], work / "reference", "t")
    def features(paths: list[Path]) -> np.ndarray:
        return image_trunk_features(frozen.model, frozen.preprocess, paths)

    reference_features = features(reference_paths)
    train_items = [item for item in item_split(catalog, 0.2, 0)[0] if item.image is not None][: len(paths)]
    distances = {"real train photos": (frechet_distance(features(_save([small(i) for i in train_items], work / "train", "t")), reference_features),
                                       None)}
    snapshots = sorted((folder / "snapshots").glob("step-*.safetensors"))
    points = 1 if quick else CURVE_POINTS  # evenly spaced along training, the last one always
    chosen = [snapshots[int(i)] for i in sorted(set(np.linspace(len(snapshots) - 1, 0, points).round().astype(int)))
              ] if snapshots else []
    minutes_at = {p["step"]: p["minutes"] for p in record["curve"]}
    curve = []
    final_state = {k: v.clone() for k, v in {**{f"unet.{k}": v for k, v in pipe.unet.state_dict().items()},
                                               **{f"labels.{k}": v for k, v in pipe.labels.state_dict().items()}}.items()}
    for snapshot in chosen:
        step = int(snapshot.stem.split("-")[1])
        state = load_file(snapshot)
        pipe.unet.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("unet.")})
        pipe.labels.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("labels.")})
        drawn = [image for request in requests for image in draw(request["labels"], samples)]
        feats = features(_save(drawn, work / f"step-{step}", "s"))
        curve.append({"step": step, "minutes": minutes_at.get(step), "fd": frechet_distance(feats, reference_features),
                      "kid": kernel_distance(feats, reference_features)})
    pipe.unet.load_state_dict({k[5:]: v for k, v in final_state.items() if k.startswith("unet.")})
    pipe.labels.load_state_dict({k[7:]: v for k, v in final_state.items() if k.startswith("labels.")})
    null_features = features(null_paths)
    distances["unconditional samples (final)"] = (frechet_distance(null_features, reference_features),
                                                  kernel_distance(null_features, reference_features))
    noise_features = features(_save([Image.fromarray(np.random.default_rng(0).integers(0, 256, (resolution, resolution, 3), np.uint8))
                                     for _ in range(len(paths))], work / "noise", "z"))
    distances["uniform noise"] = (frechet_distance(noise_features, reference_features),
                                  kernel_distance(noise_features, reference_features))

    rows = [["requested labels (the model)", *(asked[a] for a in (*ATTRIBUTES, "all three")), len(paths)],
            ["unconditional samples (chance)", *(by_chance[a] for a in (*ATTRIBUTES, "all three")), len(null_paths)],
            [f"real test photos at {resolution} px (ceiling)", *(ceiling[a] for a in (*ATTRIBUTES, "all three")), len(real_paths)]]
    final = curve[-1] if curve else {"fd": None, "kid": None}
    numbers = {"training": record, "read_back": {"asked": asked, "chance": by_chance, "ceiling": ceiling},
               "curve": curve, "distances": distances, "seconds_per_image": one,
               "seconds_per_image_in_batch_of_10": per_image_batched, "samples": len(paths)}
    summary = (f"{len(paths)} samples over {len(requests)} requests (tests/data/imagery_requests.jsonl): the photo heads "
               f"read back the requested article type for {asked['articleType']:.0%}, colour {asked['baseColour']:.0%}, "
               f"gender {asked['gender']:.0%} (unconditional samples by chance: {by_chance['articleType']:.0%}, "
               f"{by_chance['baseColour']:.0%}, {by_chance['gender']:.0%}; real test photos at {resolution} px: "
               f"{ceiling['articleType']:.0%}, {ceiling['baseColour']:.0%}, {ceiling['gender']:.0%}). Frechet distance to "
               f"the held-out photos (efficientnet-lite0 features): {final['fd']:.1f} after {record['minutes']} minutes, "
               f"real train photos {distances['real train photos'][0]:.1f}. {one:.2f} s per image at {STEPS} steps on "
               "2 CPU cores.")
    if not quick:  # the model card quotes the committed numbers, never a smoke run's
        (folder / "evaluation.json").write_text(json.dumps({"summary": summary, **{k: numbers[k] for k in ("read_back", "curve")}}))
    write_label_model_card(folder)
    card = (folder / "README.md").read_text()
    return Section(
        title=title, quick=quick, settings={"model": MODEL, "samples_per_request": samples, "steps": STEPS,
                                            "guidance": GUIDANCE, "requests": len(requests)}, numbers=numbers,
        files={f"model_cards/{MODEL}.md": card},
        blocks=[
            Text(f"`{MODEL}`: {resolution} px, channels {tuple(record['config']['channels'])}, trained "
                 f"{record['steps']} steps of batch {record['config']['batch_size']} in {record['minutes']} minutes "
                 f"on {record['images']} train-split photos (2 CPU cores, bfloat16 autocast: {record['autocast_bfloat16']}; label "
                 f"vectors initialised N(0, {record['config'].get('label_init_std', 0.02)})). "
                 f"{samples} samples for each of {len(requests)} requests (tests/data/imagery_requests.jsonl), "
                 f"{STEPS} DDIM steps, guidance {GUIDANCE}; the catalog's photo attribute heads read them back."),
            Table(["images", "article type", "colour", "gender", "all three", "n"], rows, title="Does it draw what was asked?",
                  digits=3),
            Target("article type read back as requested", asked["articleType"], 0.70),
            Target("colour read back as requested", asked["baseColour"], 0.60),
            Table(["step", "training minutes", "Frechet distance", "KID"],
                  [[c["step"], c["minutes"], c["fd"], c["kid"]] for c in curve], title="Closer to real photos with training", digits=3),
            Table(["reference set", "Frechet distance", "KID"], [[k, fd, kid if kid is not None else "-"] for k, (fd, kid) in distances.items()],
                  digits=3),
            Figure("imagery_fd.png", "Frechet distance to held-out photos against training minutes",
                   [Panel([Line(MODEL, [c["minutes"] or 0 for c in curve], [c["fd"] for c in curve])],
                          "training minutes (2 CPU cores)", "Frechet distance (efficientnet-lite0 features)")]),
            Table(["sampling", "seconds per image"], [[f"one image, {STEPS} steps, guided", one],
                                                      [f"{samples} images in one batch, per image", per_image_batched]], digits=2),
            Target(f"seconds per {resolution}-px image (one image, {STEPS} steps)", one, 3.0, at_most=True),
        ])
