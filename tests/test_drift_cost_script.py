"""benchmarks/drift_cost.py still runs (the tiny task, a small sample): the cost figure of docs/benchmarks/drift.md
comes from it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_drift_cost_runs_on_the_tiny_task() -> None:
    script, task = ROOT / "benchmarks" / "drift_cost.py", ROOT / "examples" / "tasks" / "tiny.yaml"
    command = [sys.executable, str(script), "--task", str(task), "--sizes", "4x16", "--repeats", "1", "--json"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    (check,) = report["checks"]
    assert check["passages"] == 4 and check["max_tokens"] == 16 and check["check_s"] > 0
    assert 0 < check["share"] < 1 and check["ci"][0] <= check["perplexity"] <= check["ci"][1]
