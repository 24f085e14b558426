"""How fast ``trex status`` answers on a large stored tree (target: under a second at 10,000 nodes).

Builds a workspace with N finished nodes (random tree shape, two jobs each) directly through the
store, then times ``run_status`` in-process and the whole ``trex status --json`` command (Python
start-up and imports included), best of three.

    .venv/bin/python benchmarks/status_10k.py [--nodes 10000] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trex.report.status import run_status
from trex.store import Store


def build(workspace: Path, n: int) -> None:
    store = Store(workspace)
    store.set_meta("task_name", "bench")
    rng = random.Random(0)
    with store.transaction() as tx:
        for i in range(1, n + 1):
            parent = None if i == 1 else rng.randint(max(1, i - 50), i - 1)
            val = rng.random()
            tx.execute(
                "INSERT INTO nodes(id, parent, depth, strategy, status, plan, visits, value, reward, val_score,"
                " test_score, created) VALUES (?, ?, 0, 'adjust_training', 'done', '{}', 1, ?, ?, ?, ?, 0)",
                (i, parent, val, val, val, val),
            )
            for idx in range(2):
                job = f"h{i}-{idx}"
                tx.execute("INSERT INTO jobs(hash, spec, status) VALUES (?, ?, 'ok')", (job, '{"train": {}}'))
                tx.execute(
                    "INSERT INTO node_jobs(node_id, idx, hash, name) VALUES (?, ?, ?, ?)", (i, idx, job, f"c{idx}")
                )
    store.close()


def best_of(fn, runs: int = 3) -> float:  # noqa: ANN001
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        build(ws, args.nodes)
        store = Store.open_existing(ws)
        in_process = best_of(lambda: run_status(store))
        command = [sys.executable, "-m", "trex", "status", str(ws), "--json"]
        cli = best_of(lambda: subprocess.run(command, check=True, capture_output=True))
        table = best_of(lambda: subprocess.run(command[:-1], check=True, capture_output=True))
        nodes = len(json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)["nodes"])
    result = {"nodes": nodes, "run_status_s": in_process, "cli_json_s": cli, "cli_table_s": table}
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{nodes} nodes (best of 3): run_status {in_process:.3f} s, `trex status --json` {cli:.3f} s,"
            f" `trex status` {table:.3f} s"
        )


if __name__ == "__main__":
    main()
