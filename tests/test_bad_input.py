"""Bad input never crashes and never lies: one table of cases over every surface (docs/reliability.md).

Each case feeds the kit something odd and states the outcome: a clear ``KitError`` subclass whose message
names the input or what to do (``Refused``), or a correct answer (``Answer``, checked by a function).
A case runs in milliseconds: no model is loaded here (the model-backed surfaces have their cases in
test_assistant.py's utterance table and at the end of this file). Add a case: one ``Case`` line in the
table of its surface; docs/reliability.md says more.
"""

from __future__ import annotations

import io
import json
import os
import struct
import time
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from kit.catalog import load_catalog
from kit.errors import BadInput, CatalogError, KitError
from kit.images import load_image

@dataclass(frozen=True)
class Refused:
    error: type[KitError]
    says: str  # a fragment the message must contain (it names the input or what to do)


@dataclass(frozen=True)
class Answer:
    check: Callable[[object], bool]
    what: str


@dataclass(frozen=True)
class Case:
    surface: str
    name: str
    run: Callable[[Path], object]  # gets a fresh tmp folder
    outcome: Refused | Answer


@cache
def photo() -> Path:
    """A real product photo from the mirror."""
    from kit.bundled_catalogs import open_catalog

    return open_catalog("grocery_store")["Granny-Smith"].image


# -- catalog files ---------------------------------------------------------------------------------------------
def write(tmp: Path, name: str, text: str | bytes) -> Path:
    path = tmp / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def csv_catalog(body: str, **options) -> Callable[[Path], object]:
    return lambda tmp: load_catalog(write(tmp, "shop.csv", body), **options)


def jsonl_catalog(rows: list, **options) -> Callable[[Path], object]:
    lines = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows)
    return lambda tmp: load_catalog(write(tmp, "shop.jsonl", lines), **options)


def parquet_catalog(columns: dict, **options) -> Callable[[Path], object]:
    import pandas as pd

    def run(tmp: Path):
        path = tmp / "shop.parquet"
        pd.DataFrame(columns).to_parquet(path)
        return load_catalog(path, **options)
    return run


def kept(ids: list[str], issue: str | None = None, row: int | None = None):
    """A catalog with exactly these ids and (optionally) one issue of this kind, at this row."""
    def check(catalog) -> bool:
        issues = [i for i in catalog.report.issues if issue is None or i.kind == issue]
        return (catalog.ids == ids and (issue is None or len(issues) == 1)
                and (row is None or issues[0].row == row))
    return Answer(check, f"ids {ids}" + (f" and one {issue} issue" if issue else ""))


def price_of(item_id: str, price, issue: str | None = None):
    return Answer(lambda c: c[item_id].price == price and (issue is None or c.report.counts().get(issue) == 1),
                  f"{item_id} priced {price}")


def with_image(tmp: Path, name: str = "a.jpg") -> str:
    import shutil

    (tmp / "img").mkdir(exist_ok=True)
    shutil.copy(photo(), tmp / "img" / name)
    return f"img/{name}"


def image_row(path_of: Callable[[Path], str], **options) -> Callable[[Path], object]:
    def run(tmp: Path):
        return load_catalog(write(tmp, "shop.csv", f"id,title,image\nA,apple,{path_of(tmp)}\n"), **options)
    return run


HEADER = "id,title,price\n"
CATALOG_CASES = [
    Case("catalog", "a row with too many fields", csv_catalog(HEADER + "A,apple,1\nB,pear,2,extra,extra\nC,fig,3\n"),
         kept(["A", "C"], "bad_row", 2)),
    Case("catalog", "an unclosed quote", csv_catalog(HEADER + 'A,apple,1\nB,"pear,2\nC,fig,3\nD,kiwi,4\n'),
         Answer(lambda c: {"A", "C", "D"} <= set(c.ids) and c.report.counts().get("bad_row"), "good rows kept")),
    Case("catalog", "a quoted field over two lines", csv_catalog(HEADER + 'A,"green\napple",1\nB,pear,2\n'),
         Answer(lambda c: c.ids == ["A", "B"] and c["A"].title == "green\napple", "multi-line field read")),
    Case("catalog", "too few fields", csv_catalog(HEADER + "A,apple\nB,pear,2\n"),
         Answer(lambda c: c.ids == ["A", "B"] and c["A"].price is None, "missing fields are blank")),
    Case("catalog", "blank lines", csv_catalog(HEADER + "\n\nA,apple,1\n\n"), kept(["A"])),
    Case("catalog", "a broken JSONL line", jsonl_catalog([{"id": "A"}, '{"id": "B", ', {"id": "C"}]),
         kept(["A", "C"], "bad_row", 2)),
    Case("catalog", "a JSONL line that is a list", jsonl_catalog([{"id": "A"}, "[1, 2]"]), kept(["A"], "bad_row")),
    Case("catalog", "a JSONL line that is a number", jsonl_catalog(["42", {"id": "A"}]), kept(["A"], "bad_row", 1)),
    Case("catalog", "non-UTF-8 text", lambda tmp: load_catalog(write(tmp, "shop.csv", "id,title\nA,caf\xe9\n".encode("cp1252"))),
         Refused(CatalogError, "encoding=")),
    Case("catalog", "non-UTF-8 text with its encoding",
         lambda tmp: load_catalog(write(tmp, "shop.csv", "id,title\nA,caf\xe9\n".encode("cp1252")), encoding="cp1252"),
         Answer(lambda c: c["A"].title == "caf\xe9", "title decoded")),
    Case("catalog", "an unknown encoding name", csv_catalog("id\nA\n", encoding="klingon"),
         Refused(CatalogError, "unknown text encoding")),
    Case("catalog", "a UTF-8 byte-order mark", lambda tmp: load_catalog(write(tmp, "shop.csv", b"\xef\xbb\xbfid,title\nA,apple\n")),
         kept(["A"])),
    Case("catalog", "price inf", csv_catalog(HEADER + "A,apple,inf\n"), price_of("A", None, "bad_price")),
    Case("catalog", "price 1e400", csv_catalog(HEADER + "A,apple,1e400\n"), price_of("A", None, "bad_price")),
    Case("catalog", "price -3", csv_catalog(HEADER + "A,apple,-3\n"), price_of("A", None, "bad_price")),
    Case("catalog", "price NaN", csv_catalog(HEADER + "A,apple,NaN\n"), price_of("A", None, "bad_price")),
    Case("catalog", "price text", csv_catalog(HEADER + "A,apple,cheap\n"), price_of("A", None, "bad_price")),
    Case("catalog", "price 2.50", csv_catalog(HEADER + "A,apple,2.50\n"), price_of("A", 2.5)),
    Case("catalog", "boolean Parquet prices", parquet_catalog({"id": ["A", "B"], "price": [True, False]}),
         Answer(lambda c: c["A"].price is None and c.report.counts()["bad_price"] == 2, "booleans are not prices")),
    Case("catalog", "JSONL price true", jsonl_catalog([{"id": "A", "price": True}]), price_of("A", None, "bad_price")),
    Case("catalog", "a float id", jsonl_catalog([{"id": 1.5}, {"id": "B"}]), kept(["B"], "bad_id", 1)),
    Case("catalog", "a dict id", jsonl_catalog([{"id": {"x": 1}}, {"id": "B"}]), kept(["B"], "bad_id", 1)),
    Case("catalog", "a list id", jsonl_catalog([{"id": [1]}, {"id": "B"}]), kept(["B"], "bad_id")),
    Case("catalog", "a boolean id", jsonl_catalog([{"id": True}, {"id": "B"}]), kept(["B"], "bad_id")),
    Case("catalog", "a whole-number float id", jsonl_catalog([{"id": 3.0}]), kept(["3"])),
    Case("catalog", "an integer id", jsonl_catalog([{"id": 7}]), kept(["7"])),
    Case("catalog", "Parquet integer ids", parquet_catalog({"id": [1, 2]}), kept(["1", "2"])),
    Case("catalog", "a missing id", csv_catalog(HEADER + ",apple,1\nB,pear,2\n"), kept(["B"], "missing_id", 1)),
    Case("catalog", "a duplicate id", csv_catalog(HEADER + "A,apple,1\nA,pear,2\n"),
         Answer(lambda c: c.ids == ["A"] and c["A"].title == "apple" and c.report.counts() == {"duplicate_id": 1},
                "the first row kept")),
    Case("catalog", "no id column", csv_catalog("sku,title\nA,apple\n"), Refused(CatalogError, "no 'id' column")),
    Case("catalog", "an empty file", csv_catalog(""), Refused(CatalogError, "is empty")),
    Case("catalog", "a header only", csv_catalog("id,title\n"), kept([])),
    Case("catalog", "strict with a bad row", csv_catalog(HEADER + "A,apple,1\nB,pear,x\n", strict=True),
         Refused(CatalogError, "row 2")),
    Case("catalog", "strict with a broken JSONL line", jsonl_catalog([{"id": "A"}, "{"], strict=True),
         Refused(CatalogError, "line 2")),
    Case("catalog", "an unsupported format", lambda tmp: load_catalog(write(tmp, "shop.xlsx", "id\nA\n")),
         Refused(CatalogError, ".xlsx")),
    Case("catalog", "a missing file", lambda tmp: load_catalog(tmp / "nope.csv"), Refused(CatalogError, "nope.csv")),
    Case("catalog", "a Parquet file that is not Parquet", lambda tmp: load_catalog(write(tmp, "shop.parquet", "id\nA\n")),
         Refused(CatalogError, "Parquet")),
    Case("catalog", "control characters in a title", csv_catalog("id,title\nA,app\x07le\x1b[31m\n"),
         Answer(lambda c: c.ids == ["A"], "loaded as written")),
    Case("catalog", "a 20 kB title", csv_catalog("id,title\nA," + "x" * 20_000 + "\n"),
         Answer(lambda c: len(c["A"].title) == 20_000, "kept whole")),
    Case("catalog", "an image path leaving the folder", image_row(lambda tmp: "../outside/x.jpg"),
         Answer(lambda c: c["A"].image is None and c.report.counts() == {"image_outside": 1}, "refused, item kept")),
    Case("catalog", "an absolute image path", image_row(lambda tmp: str(photo())),
         Answer(lambda c: c["A"].image is None and c.report.counts() == {"image_outside": 1}, "refused, item kept")),
    Case("catalog", "an absolute image path, allowed", image_row(lambda tmp: str(photo()), allow_outside_images=True),
         Answer(lambda c: c["A"].image == photo(), "used when allowed")),
    Case("catalog", "an image inside the folder", image_row(with_image),
         Answer(lambda c: c["A"].image is not None and not c.report.issues, "used")),
    Case("catalog", "a missing image", image_row(lambda tmp: "img/none.jpg"),
         Answer(lambda c: c["A"].image is None and c.report.counts() == {"missing_image": 1}, "item kept")),
    Case("catalog", "a text file named .jpg", image_row(lambda tmp: (tmp / "fake.jpg").write_text("hi") and "fake.jpg"),
         Answer(lambda c: c["A"].image is None and c.report.counts() == {"bad_image": 1}, "item kept")),
]


# -- images ------------------------------------------------------------------------------------------------------
def as_png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def grey8() -> np.ndarray:
    return np.asarray(Image.open(photo()).convert("L"))


def close_to(reference: Callable[[], np.ndarray], tolerance: float = 2.0) -> Answer:
    return Answer(lambda img: float(np.abs(np.asarray(img.convert("L"), float) - reference()).mean()) < tolerance,
                  "the same picture")


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (what a decompression bomb looks like)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")


def exif_rotated() -> bytes:
    image = Image.new("RGB", (40, 20), "red")
    exif = Image.Exif()
    exif[274] = 6  # rotate 90 degrees clockwise to view
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def palette_with_transparency() -> bytes:
    image = Image.new("P", (4, 4), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.putpixel((0, 0), 1)
    image.info["transparency"] = 0
    out = io.BytesIO()
    image.save(out, "PNG", transparency=0)
    return out.getvalue()


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("blue", "yellow")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)
    return out.getvalue()


def pixel(x: int, y: int, rgb: tuple[int, int, int], tolerance: int = 10) -> Answer:
    return Answer(lambda img: all(abs(a - b) <= tolerance for a, b in zip(img.getpixel((x, y)), rgb)), f"pixel {rgb}")


IMAGE_CASES = [
    Case("image", "16-bit greyscale PNG", lambda tmp: load_image(as_png(Image.fromarray(grey8().astype(np.uint16) * 257))),
         close_to(grey8)),
    Case("image", "32-bit integer image", lambda tmp: load_image(Image.fromarray(grey8().astype(np.int32) * 257)), close_to(grey8)),
    Case("image", "float image in [0, 1]", lambda tmp: load_image(Image.fromarray(grey8().astype(np.float32) / 255)),
         close_to(grey8)),
    Case("image", "CMYK JPEG", lambda tmp: load_image(_jpeg(Image.open(photo()).convert("CMYK"))), close_to(grey8, 4)),
    Case("image", "palette with transparency", lambda tmp: load_image(palette_with_transparency()), pixel(1, 1, (255, 255, 255))),
    Case("image", "palette: the opaque pixel", lambda tmp: load_image(palette_with_transparency()), pixel(0, 0, (255, 0, 0))),
    Case("image", "RGBA fully transparent", lambda tmp: load_image(Image.new("RGBA", (4, 4), (0, 0, 0, 0))),
         pixel(0, 0, (255, 255, 255))),
    Case("image", "RGBA opaque", lambda tmp: load_image(Image.new("RGBA", (4, 4), (0, 128, 0, 255))), pixel(0, 0, (0, 128, 0))),
    Case("image", "greyscale with alpha", lambda tmp: load_image(Image.new("LA", (4, 4), (50, 255))), pixel(0, 0, (50, 50, 50))),
    Case("image", "EXIF rotation", lambda tmp: load_image(exif_rotated()), Answer(lambda img: img.size == (20, 40), "upright")),
    Case("image", "animated GIF", lambda tmp: load_image(animated_gif()), pixel(0, 0, (0, 0, 255), 40)),
    Case("image", "1-bit image", lambda tmp: load_image(Image.new("1", (4, 4), 1)), pixel(0, 0, (255, 255, 255))),
    Case("image", "1 x 1 pixel", lambda tmp: load_image(Image.new("RGB", (1, 1), "red")), Answer(lambda i: i.size == (1, 1), "1 x 1")),
    Case("image", "1 x 10000 strip", lambda tmp: load_image(Image.new("RGB", (1, 10_000))), Answer(lambda i: i.size == (1, 10_000), "kept")),
    Case("image", "a text file", lambda tmp: load_image(write(tmp, "x.jpg", "not a picture")), Refused(BadInput, "x.jpg")),
    Case("image", "a 0-byte file", lambda tmp: load_image(write(tmp, "empty.png", b"")), Refused(BadInput, "empty.png")),
    Case("image", "an SGI header with no mode (PIL's parser raised ValueError)",
         lambda tmp: load_image(write(tmp, "odd.rgb", b"\x01\xda" + b"\x00" * 10)), Refused(BadInput, "not a readable image")),
    Case("image", "a truncated JPEG", lambda tmp: load_image(write(tmp, "cut.jpg", photo().read_bytes()[:2000])),
         Refused(BadInput, "cut.jpg")),
    Case("image", "a decompression bomb", lambda tmp: load_image(bomb_png(20_000, 20_000)), Refused(BadInput, "pixel limit")),
    Case("image", "a bomb on disk", lambda tmp: load_image(write(tmp, "bomb.png", bomb_png(30_000, 30_000))),
         Refused(BadInput, "bomb.png")),
    Case("image", "a missing path", lambda tmp: load_image(tmp / "nope.jpg"), Refused(BadInput, "nope.jpg")),
    Case("image", "a folder", lambda tmp: load_image(tmp), Refused(BadInput, "not found")),
    Case("image", "random bytes", lambda tmp: load_image(os.urandom(500)), Refused(BadInput, "500 bytes")),
    Case("image", "PNG bytes", lambda tmp: load_image(as_png(Image.new("RGB", (3, 2), "blue"))), pixel(0, 0, (0, 0, 255))),
    Case("image", "uint16 array", lambda tmp: load_image(grey8().astype(np.uint16) * 257), close_to(grey8)),
    Case("image", "float array in [0, 1]", lambda tmp: load_image(np.full((4, 4, 3), 0.5)), pixel(0, 0, (128, 128, 128), 1)),
    Case("image", "boolean array", lambda tmp: load_image(np.eye(4, dtype=bool)), pixel(0, 0, (255, 255, 255))),
    Case("image", "array with NaN", lambda tmp: load_image(np.full((4, 4), np.nan)), Refused(BadInput, "NaN")),
    Case("image", "4-D array", lambda tmp: load_image(np.zeros((2, 4, 4, 3))), Refused(BadInput, "shape")),
    Case("image", "2-channel array", lambda tmp: load_image(np.zeros((4, 4, 2), np.uint8)), Refused(BadInput, "channels")),
    Case("image", "empty array", lambda tmp: load_image(np.zeros((0, 4, 3), np.uint8)), Refused(BadInput, "empty")),
    Case("image", "single-channel HxWx1", lambda tmp: load_image(np.full((4, 4, 1), 9, np.uint8)), pixel(0, 0, (9, 9, 9), 0)),
]


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


# -- audio (decoding only; transcription has its own tests) --------------------------------------------------------
def audio(data, rate=None):
    from kit.speech.asr import load_audio

    return load_audio(data, rate)


def tone(seconds: float = 0.5, rate: int = 16_000) -> np.ndarray:
    return np.sin(np.linspace(0, 440 * 2 * np.pi * seconds, int(rate * seconds))).astype(np.float32) * 0.5


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    import soundfile as sf

    out = io.BytesIO()
    sf.write(out, samples, rate, format="WAV")
    return out.getvalue()


def samples(n: int, peak: float | None = None) -> Answer:
    return Answer(lambda s: abs(len(s) - n) <= 2 and (peak is None or abs(np.abs(s).max() - peak) < 0.05),
                  f"{n} samples at 16 kHz")


AUDIO_CASES = [
    Case("audio", "stereo at 44.1 kHz", lambda tmp: audio(wav_bytes(np.stack([tone(1, 44_100)] * 2, 1), 44_100)), samples(16_000)),
    Case("audio", "8 kHz mono", lambda tmp: audio(wav_bytes(tone(1, 8000), 8000)), samples(16_000)),
    Case("audio", "11.025 kHz", lambda tmp: audio(wav_bytes(tone(1, 11_025), 11_025)), samples(16_000)),
    Case("audio", "channels-first array", lambda tmp: audio(np.stack([tone()] * 2), 16_000), samples(8000)),
    Case("audio", "int16 array", lambda tmp: audio((tone() * 32767).astype(np.int16), 16_000), samples(8000, 0.5)),
    Case("audio", "floats on the int16 scale", lambda tmp: audio(tone() * 32767, 16_000), samples(8000, 1.0)),
    Case("audio", "an array without its rate", lambda tmp: audio(tone()), Refused(BadInput, "sample_rate")),
    Case("audio", "a rate of 0", lambda tmp: audio(tone(), 0), Refused(BadInput, "sample_rate")),
    Case("audio", "a negative rate", lambda tmp: audio(tone(), -16_000), Refused(BadInput, "sample_rate")),
    Case("audio", "a float rate", lambda tmp: audio(tone(), 16_000.5), Refused(BadInput, "sample_rate")),
    Case("audio", "NaN samples", lambda tmp: audio(np.full(100, np.nan), 16_000), Refused(BadInput, "NaN")),
    Case("audio", "a 3-D array", lambda tmp: audio(np.zeros((2, 2, 2)), 16_000), Refused(BadInput, "1-D or 2-D")),
    Case("audio", "an empty array", lambda tmp: audio(np.zeros(0), 16_000), Refused(BadInput, "empty")),
    Case("audio", "a string array", lambda tmp: audio(np.array(["a", "b"]), 16_000), Refused(BadInput, "integers or floats")),
    Case("audio", "a 0-byte file", lambda tmp: audio(write(tmp, "e.wav", b"")), Refused(BadInput, "empty")),
    Case("audio", "a text file named .wav", lambda tmp: audio(write(tmp, "t.wav", "hello")), Refused(BadInput, "not a readable audio")),
    Case("audio", "a missing file", lambda tmp: audio(tmp / "none.wav"), Refused(BadInput, "none.wav")),
    Case("audio", "a list", lambda tmp: audio([0.1, 0.2]), Refused(BadInput, "unsupported audio input")),
]


# -- caches and saved files ------------------------------------------------------------------------------------------
def cache_with(tmp: Path, damage: Callable[[Path], None]):
    from kit.clip.cache import EmbeddingCache

    cache = EmbeddingCache("m", root=tmp)
    cache.put(["a", "b"], np.ones((2, 3), np.float32))
    first = next(cache.folder.glob("*.npz"))  # the shard holding a and b
    cache.put(["c"], np.ones((1, 3), np.float32))
    damage(first)
    fresh = EmbeddingCache("m", root=tmp)
    calls = []
    vectors = fresh.embed(["a", "b", "c"], ["a", "b", "c"], lambda batch: calls.append(batch) or np.zeros((len(batch), 3)))
    return fresh, vectors, calls


def recomputed(n_missing: int) -> Answer:
    return Answer(lambda out: out[1].shape == (3, 3) and sum(len(c) for c in out[2]) == n_missing
                  and len(list(out[0].folder.glob("*.npz"))) == 2, f"{n_missing} vectors recomputed, shard rewritten")


def stray_tmp(age_seconds: float):
    def run(tmp: Path):
        from kit.clip.cache import EmbeddingCache

        cache = EmbeddingCache("m", root=tmp)
        cache.put(["a"], np.ones((1, 2), np.float32))
        stray = cache.folder / "killed.tmp"
        stray.write_bytes(b"half a shard")
        os.utime(stray, (time.time() - age_seconds, time.time() - age_seconds))
        EmbeddingCache("m", root=tmp).get(["a"])
        return stray.exists()
    return run


def saved_search(tmp: Path, damage: Callable[[Path], None]):
    from kit.search.engine import CatalogSearch

    folder = tmp / "search"
    folder.mkdir()
    (folder / "search.json").write_text(json.dumps({"encoder": "e", "item_mode": "text", "index": "exact", "catalog": "c"}))
    damage(folder)

    class Encoder:  # only its fingerprint is read before the files
        fingerprint = "e"

    return CatalogSearch.load(folder, None, Encoder())


CACHE_CASES = [
    Case("cache", "a truncated shard", lambda tmp: cache_with(tmp, lambda s: s.write_bytes(s.read_bytes()[:40])), recomputed(2)),
    Case("cache", "a 0-byte shard", lambda tmp: cache_with(tmp, lambda s: s.write_bytes(b"")), recomputed(2)),
    Case("cache", "a shard with misaligned keys", lambda tmp: cache_with(tmp, lambda s: np.savez(
        s, keys=np.array(["a", "b"]), vectors=np.ones((5, 3)))), recomputed(2)),
    Case("cache", "a shard without vectors", lambda tmp: cache_with(tmp, lambda s: np.savez(s, keys=np.array(["a"]))),
         recomputed(2)),
    Case("cache", "a stray .tmp from a killed run", stray_tmp(7200), Answer(lambda exists: exists is False, "cleaned")),
    Case("cache", "a young .tmp (a run still writing)", stray_tmp(5), Answer(lambda exists: exists is True, "left alone")),
    Case("cache", "a saved search without embeddings", lambda tmp: saved_search(tmp, lambda f: None),
         Refused(BadInput, "missing or corrupt")),
    Case("cache", "a saved search with a 0-byte embeddings file",
         lambda tmp: saved_search(tmp, lambda f: (f / "embeddings.npz").write_bytes(b"")), Refused(BadInput, "rebuild it")),
    Case("cache", "a saved search with broken JSON",
         lambda tmp: saved_search(tmp, lambda f: (f / "search.json").write_text("{")), Refused(BadInput, "corrupt")),
]


# -- the command line (no model is loaded: each case fails or answers before that) --------------------------------
def cli(*argv: str) -> Callable[[Path], object]:
    def run(tmp: Path):
        import contextlib

        from kit.cli import main

        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main([a.replace("{tmp}", str(tmp)) for a in argv])
        return code, out.getvalue(), err.getvalue()
    return run


def fails(code: int, says: str) -> Answer:
    return Answer(lambda r: r[0] == code and says in r[2] and len(r[2].strip().splitlines()) == 1 and "Traceback" not in r[2],
                  f"exit {code}, one line saying {says!r}")


def wav_of(seconds_at_least: float) -> Callable[[object], bool]:
    def check(result) -> bool:
        import soundfile as sf

        path = Path(result[1].split("wrote ", 1)[1].split(":", 1)[0])
        data, rate = sf.read(path)
        return result[0] == 0 and len(data) / rate >= seconds_at_least
    return check


def semantic_ids_from_text_file(tmp: Path):
    from kit.semids.codes import SemanticIds

    write(tmp, "ids.json", "{}")
    return SemanticIds.load(write(tmp, "ids.parquet", "not parquet"))


CLI_CASES = [
    Case("cli", "models --kind nope", cli("models", "--kind", "nope"), fails(2, "kinds: ")),
    Case("cli", "search --k -5", cli("search", "apples", "--k", "-5"), fails(2, "--k must be at least 1")),
    Case("cli", "search --k 0", cli("search", "apples", "--k", "0"), fails(2, "--k must be at least 1")),
    Case("cli", "llm tune --minutes 0", cli("llm", "tune", "--minutes", "0"), fails(2, "--minutes must be positive")),
    Case("cli", "llm tune --minutes -5", cli("llm", "tune", "--minutes", "-5"), fails(2, "--minutes must be positive")),
    Case("cli", "llm tune --steps-per-epoch 0", cli("llm", "tune", "--steps-per-epoch", "0"),
         fails(2, "--steps-per-epoch must be at least 1")),
    Case("cli", "search with no query", cli("search"), fails(2, "give a query")),
    Case("cli", "search with an unknown catalog", cli("search", "x", "--catalog", "grocerystore"), fails(2, "grocery_store")),
    Case("cli", "search a missing catalog file", cli("search", "x", "--catalog", "{tmp}/shop.csv"), fails(2, "not found")),
    Case("cli", "eval --limit 0", cli("eval", "image-retrieval", "--limit", "0"), fails(2, "--limit must be at least 1")),
    Case("cli", "eval a text-only catalog", cli("eval", "image-retrieval", "--catalog", "amazon_scientific"), fails(2, "no photos")),
    Case("cli", "enrich fill before any heads are trained", cli("enrich", "fill", "--catalog", "grocery_store", "--out",
         "{tmp}/x.csv"), fails(2, "python -m kit enrich train --catalog grocery_store")),
    Case("cli", "enrich train an unknown catalog", cli("enrich", "train", "--catalog", "fashion"), fails(2, "fashion_products")),
    Case("cli", "enrich train a tuned photo tower for the title view",
         cli("enrich", "train", "--tune-photo-tower", "--view", "title"), fails(2, "photo view only")),
    Case("cli", "enrich train --tower-epochs 0", cli("enrich", "train", "--tune-photo-tower", "--tower-epochs", "0"),
         fails(2, "--tower-epochs must be at least 1")),
    Case("cli", "demo --max-items 0", cli("demo", "--max-items", "0"), fails(2, "--max-items must be at least 1")),
    Case("cli", "demo --max-items -3", cli("demo", "--max-items", "-3"), fails(2, "--max-items must be at least 1")),
    Case("cli", "eval --max-items 0", cli("eval", "image-retrieval", "--max-items", "0"), fails(2, "--max-items must be at least 1")),
    Case("cli", "eval --max-items on a catalog of shopper photos", cli("eval", "image-retrieval", "--catalog",
         "grocery_store", "--max-items", "50"), fails(2, "drop --max-items")),
    Case("cli", "plan an empty goal", cli("plan", ""), fails(2, "goal is empty")),
    Case("cli", "plan with unknown needs", cli("plan", "a picnic", "--needs", "guess"), fails(2, "choose one of: catalog, free, ranked")),
    Case("cli", "speak into a missing folder", cli("speak", "hello", "--voice", "espeak-ng", "-o", "{tmp}/no/x.wav"),
         fails(2, "does not exist")),
    Case("cli", "speak emoji only", cli("speak", "🍎🍏", "--voice", "espeak-ng", "-o", "{tmp}/x.wav"), fails(2, "no words")),
    Case("cli", "speak an empty text", cli("speak", "", "--voice", "espeak-ng", "-o", "{tmp}/x.wav"), fails(2, "no words")),
    Case("cli", "speak text that looks like an option", cli("speak", "--voice", "espeak-ng", "-o", "{tmp}/x.wav", "--",
                                                               "--version"), Answer(wav_of(0.3), "the words spoken")),
    Case("cli", "transcribe a missing file", cli("transcribe", "{tmp}/none.wav"), fails(2, "none.wav")),
    Case("cli", "transcribe biased to an unknown catalog", cli("transcribe", "{tmp}/none.wav", "--catalog", "grocerystore"),
         fails(2, "grocery_store")),
    Case("cli", "embed with an unknown engine", cli("embed", "grocery_store", "--out", "{tmp}/e", "--engine", "spark"),
         fails(2, "choose one of local, ray")),
    Case("cli", "embed with a cluster address but the local engine",
         cli("embed", "grocery_store", "--out", "{tmp}/e", "--address", "ray://head:10001"), fails(2, "--engine ray")),
    Case("cli", "embed an unknown catalog", cli("embed", "grocerystore", "--out", "{tmp}/e"), fails(2, "grocery_store")),
    Case("cli", "embed --limit 0", cli("embed", "grocery_store", "--out", "{tmp}/e", "--limit", "0"),
         fails(2, "--limit must be at least 1")),
    Case("cli", "embed in shards of 0", cli("embed", "grocery_store", "--out", "{tmp}/e", "--shard-size", "0"),
         fails(2, "--shard-size must be at least 1")),
    Case("cli", "simulate an unknown policy", cli("simulate", "--policies", "popularity,best"), fails(2, "choose from random")),
    Case("cli", "simulate with no policy", cli("simulate", "--policies", ","), fails(2, "(none given)")),
    Case("cli", "simulate a policy twice", cli("simulate", "--policies", "content,content"), fails(2, "named twice")),
    Case("cli", "simulate an unknown simulator", cli("simulate", "--simulator", "gpt"), fails(2, "choose from choice, llm")),
    Case("cli", "simulate 0 users", cli("simulate", "--users", "0"), fails(2, "--users must be at least 1")),
    Case("cli", "simulate pages of 1 item", cli("simulate", "--page-size", "1"), fails(2, "at least 2 items")),
    Case("cli", "simulate a dataset without shoppers", cli("simulate", "--dataset", "grocery_store"),
         fails(2, "amazon_scientific, youshu")),
    Case("cli", "simulate bundles without titles with the LLM", cli("simulate", "--dataset", "youshu", "--simulator", "llm"),
         fails(2, "no titles")),
    Case("cli", "simulate with --llm but the choice model", cli("simulate", "--llm", "local:x"), fails(2, "--simulator llm")),
    Case("cli", "copy with an unknown writer", cli("copy", "--writer", "gpt"), fails(2, "choose one of template, llm")),
    Case("cli", "copy in an unknown tone", cli("copy", "--tone", "angry"), fails(2, "neutral, playful, premium")),
    Case("cli", "copy for 0 items", cli("copy", "--items", "0"), fails(2, "--items must be at least 1")),
    Case("cli", "copy with --llm but the template", cli("copy", "--llm", "local:x"), fails(2, "--writer llm")),
    Case("cli", "copy with a photo threshold above 1", cli("copy", "--photo-facts", "1.5"), fails(2, "probability in (0, 1]")),
    Case("cli", "copy from an unknown catalog", cli("copy", "--catalog", "fashion"), fails(2, "fashion_products")),
    Case("cli", "fetch an unknown model", cli("fetch", "gpt-17"), fails(2, "unknown model 'gpt-17'")),
    Case("cli", "fetch while offline", cli("fetch", "whisper-small"), fails(2, "KIT_OFFLINE")),
    Case("cli", "fetch an unknown dataset", cli("data", "--fetch", "nope"), fails(2, "nope")),
    Case("cli", "semids on a dataset without sequences", cli("semids", "build", "--dataset", "youshu"),
         fails(2, "datasets with sequences")),
    Case("cli", "semids with zero levels", cli("semids", "eval", "--levels", "0"), fails(2, "--levels must be >= 1")),
    Case("cli", "semids with a one-code codebook", cli("semids", "train", "--codebook-size", "1"),
         fails(2, "--codebook-size >= 2")),
    Case("cli", "semids recommend for a user who is not there", cli("semids", "recommend", "--user", "99999999"),
         fails(2, "no test user 99999999")),
    Case("cli", "semids recommend 0 items", cli("semids", "recommend", "--k", "0"), fails(2, "between 1 and 50")),
    Case("cache", "semantic IDs from a file that is not Parquet", semantic_ids_from_text_file,
         Refused(CatalogError, "not a semantic-ID table")),
]


# -- the app's upload checks and served files (handlers only; the HTTP side is in test_app.py) ------------------
def upload(make: Callable[[Path], Path], kind: str = "photo"):
    def run(tmp: Path):
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apps"))
        import assistant as app_module

        os.environ["GRADIO_TEMP_DIR"] = str(tmp)
        try:
            return app_module.check_upload(str(make(tmp)), kind)
        finally:
            os.environ.pop("GRADIO_TEMP_DIR")
    return run


APP_CASES = [
    Case("app", "a text file named .jpg", upload(lambda tmp: write(tmp, "x.jpg", "hello")), Refused(BadInput, "x.jpg")),
    Case("app", "a decompression bomb", upload(lambda tmp: write(tmp, "b.png", bomb_png(20_000, 20_000))),
         Refused(BadInput, "pixel limit")),
    Case("app", "a file outside the upload folder", lambda tmp: upload(lambda t: photo())(tmp),
         Refused(BadInput, "only uploaded files")),
    Case("app", "a missing upload", upload(lambda tmp: tmp / "gone.jpg"), Refused(BadInput, "upload it again")),
    Case("app", "an 11 MB upload", upload(lambda tmp: write(tmp, "big.jpg", b"\0" * (11 * 2**20))), Refused(BadInput, "10 MB")),
    Case("app", "a real photo", upload(lambda tmp: write(tmp, "ok.jpg", photo().read_bytes())),
         Answer(lambda path: Path(path).name == "ok.jpg", "accepted")),
    Case("app", "a recording is not opened as an image", upload(lambda tmp: write(tmp, "r.wav", b"RIFF...."), "recording"),
         Answer(lambda path: Path(path).name == "r.wav", "passed to the transcriber, which checks audio")),
]

# -- the planner: a shopper's goal and follow-ups are checked before any model or search is used --------------------
def planner_call(call: Callable[[object], object]) -> Callable[[Path], object]:
    def run(tmp: Path):
        from kit.planning.planner import Planner

        return call(Planner(llm=None, search=None))  # no model: each case is refused before one is needed
    return run


def empty_plan():
    from kit.planning.schema import Plan

    return Plan(goal="a picnic", catalog="grocery_store", model="none", prompt_version="v", steps=[], basket=[])


PLANNER_CASES = [
    Case("planner", "an empty goal", planner_call(lambda p: p.plan("")), Refused(BadInput, "goal is empty")),
    Case("planner", "a goal of control characters", planner_call(lambda p: p.plan("\x00\x07\n\t")),
         Refused(BadInput, "goal is empty")),
    Case("planner", "an empty follow-up", planner_call(lambda p: p.steer(empty_plan(), "   ")),
         Refused(BadInput, "follow-up is empty")),
    Case("planner", "an unknown needs mode", lambda tmp: __import__("kit.planning.planner", fromlist=["Planner"]).Planner(
        llm=None, search=None, needs="guess"), Refused(BadInput, "'catalog', 'free' or 'ranked'")),
]

CASES = CATALOG_CASES + IMAGE_CASES + AUDIO_CASES + CACHE_CASES + CLI_CASES + APP_CASES + PLANNER_CASES


def test_the_table_is_large_and_covers_every_surface():
    assert len(CASES) >= 120
    assert {c.surface for c in CASES} == {"catalog", "image", "audio", "cache", "cli", "app", "planner"}
    assert len({(c.surface, c.name) for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.surface}: {c.name}")
def test_bad_input(case: Case, tmp_path):
    if isinstance(case.outcome, Refused):
        with pytest.raises(case.outcome.error) as caught:
            case.run(tmp_path)
        assert case.outcome.says in str(caught.value), str(caught.value)
    else:
        result = case.run(tmp_path)
        assert case.outcome.check(result), (case.outcome.what, result)


# -- downloads with the network down (pytest-socket blocks everything but loopback) ---------------------------
def online(run: Callable[[Path], object]) -> Callable[[Path], object]:
    """Run with downloads allowed (KIT_OFFLINE unset) into a private KIT_HOME; the network is still down."""
    def wrapped(tmp: Path):
        saved = {k: os.environ.get(k) for k in ("KIT_OFFLINE", "KIT_HOME")}
        os.environ["KIT_OFFLINE"], os.environ["KIT_HOME"] = "0", str(tmp / "home")
        try:
            return run(tmp)
        finally:
            for key, value in saved.items():
                os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    return wrapped


def leftovers(tmp: Path) -> list[Path]:
    return [p for p in (tmp / "home").rglob("*") if p.is_file() or p.name.startswith(".")]


DOWNLOAD_CASES = [
    Case("cli", "fetch a model with the network down", online(lambda tmp: (cli("fetch", "whisper-small")(tmp), leftovers(tmp))),
         Answer(lambda r: r[0][0] == 2 and "could not download" in r[0][2] and r[1] == [], "one line, nothing left behind")),
    Case("cli", "fetch a dataset with the network down",
         online(lambda tmp: (cli("data", "--fetch", "youshu")(tmp), leftovers(tmp))),
         Answer(lambda r: r[0][0] == 2 and "could not download" in r[0][2] and r[1] == [], "one line, nothing left behind")),
    Case("cli", "search for control characters only", cli("search", "\x00\x00\x00"), fails(2, "query with words")),
    Case("cli", "tasks run a missing file", cli("tasks", "run", "{tmp}/none.jsonl"), fails(2, "cannot read the task file")),
    Case("cli", "tasks run --limit 0", cli("tasks", "run", "{tmp}/none.jsonl", "--limit", "0"),
         fails(2, "--limit must be at least 1")),
    Case("cli", "tasks run a file of bad lines only",
         lambda tmp: (write(tmp, "bad.jsonl", '{"id": 1}\nnot json\n'), cli("tasks", "run", "{tmp}/bad.jsonl")(tmp))[1],
         Answer(lambda r: r[0] == 2 and "line 1:" in r[2] and "line 2: not JSON" in r[2] and "no task to run" in r[2]
                and "Traceback" not in r[2], "each bad line named, then one error: no task to run")),
    Case("cli", "tasks run --catalog with none of its tasks",
         lambda tmp: (write(tmp, "t.jsonl", '{"id": "a", "catalog": "grocery_store", "kind": "find", "turns": ["x"], '
                                            '"goal": {"category": ["Apple"]}}\n'),
                      cli("tasks", "run", "{tmp}/t.jsonl", "--catalog", "fashion_products")(tmp))[1],
         fails(2, "no task to run")),
]
CASES += DOWNLOAD_CASES


@pytest.mark.slow
def test_a_16_bit_copy_of_a_shelf_photo_finds_what_its_8_bit_twin_finds(grocery_search, tmp_path):
    from kit.bundled_catalogs import grocery_photos

    for shelf in grocery_photos("test")[:400:40]:  # ten shelf photos of different products
        grey = np.asarray(Image.open(shelf.path).convert("L"))
        eight, sixteen = tmp_path / "8.png", tmp_path / "16.png"
        Image.fromarray(grey).save(eight)
        Image.fromarray(grey.astype(np.uint16) * 257).save(sixteen)  # the same picture on the 16-bit scale
        assert Image.open(sixteen).mode.startswith("I")
        assert [r.id for r in grocery_search.image(sixteen, k=3)] == [r.id for r in grocery_search.image(eight, k=3)]
