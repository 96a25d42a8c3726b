"""Demo start: what `make demo` runs after setup (apps/assistant.py), from an empty KIT_HOME and then again
warm: seconds until the app serves, and until every catalog and the planner's LLM are ready."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kit.bench.records import Section, Table, Target, Text

APP = Path(__file__).resolve().parents[2] / "apps" / "assistant.py"
RUNS = ("cold: empty cache (trains shopkit-lit, embeds, trains the graph)", "warm: second start")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_once(home: str) -> tuple[float, float, list[str]]:
    """(seconds to serving, seconds to everything ready, the phases the console printed) of one app start."""
    env = {**os.environ, "KIT_HOME": home, "PORT": str(free_port())}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(APP)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    serving, ready, phases = None, None, []
    for line in process.stdout:
        if line.startswith("serving "):
            serving = time.perf_counter() - started
        if " ready in " in line or " trained in " in line:
            phases.append(line.strip().split(" (")[0])
        if line.startswith("planner LLM ready"):
            ready = time.perf_counter() - started
            break
    process.terminate()
    process.wait(timeout=60)
    if serving is None or ready is None:
        raise RuntimeError(f"apps/assistant.py stopped before it was ready (exit {process.returncode})")
    return serving, ready, phases


def demo_start(quick: bool = False) -> Section:
    rows = []
    with tempfile.TemporaryDirectory(prefix="shopkit-demo-") as home:
        for label in RUNS:
            serving, ready, phases = start_once(home)
            rows.append([label, round(serving, 1), round(ready, 1), "; ".join(phases)])
    return Section(
        title="Demo start", quick=quick, numbers={"runs": rows},
        blocks=[
            Text("apps/assistant.py (what `make demo` runs after `make setup`) in a fresh KIT_HOME, then again. The app "
                 "serves as soon as the image-text model and the first catalog are ready; the other catalogs, the "
                 "co-purchase graph and the planner's LLM are prepared in the background (the app says so if you pick "
                 "one early). Setup (`make setup`, installing the packages) is not in these seconds."),
            Table(["run", "seconds to serving", "seconds to everything ready", "phases (as the console prints them)"], rows),
            Target("cold start to serving, without setup (s)", rows[0][1], 600, at_most=True),
            Target("second start to serving (s)", rows[1][1], 60, at_most=True),
        ])
