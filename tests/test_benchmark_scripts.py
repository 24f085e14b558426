"""The benchmark scripts still run (a tiny configuration each): figures come from them, so they must not rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_runs_on_a_tiny_config() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "gpu_check.py"),
            "--tiny",
            "--device",
            "cpu",
            "--steps",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    for key in ("lora_tokens_per_s", "full_tokens_per_s", "score_tokens_per_s", "generate_tokens_per_s"):
        assert figures[key] > 0
    assert figures["lora_mfu"] is None  # no known peak on a CPU


def test_search_sim_json_has_every_policy() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "search_sim.py"), "--seeds", "3", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    table = json.loads(out.stdout)
    assert {"mcts", "gbfs", "ses", "random"} <= set(table)
    assert all(set(row) == {"mean", "median", "std", "reach90"} for row in table.values())
