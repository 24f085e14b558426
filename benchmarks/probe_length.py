"""How long must a probe be for its ranking of learning rates to hold at the long run's length?

    .venv/bin/python benchmarks/probe_length.py [--task FILE] [--lrs 2e-4,6e-4,2e-3] [--steps 256]
        [--eval-at 16,32,64,128,256] [--out runs/probe_length] [--json]

Each learning rate trains one plain TRL LoRA run (``benchmarks/plain_trl.py``: the demo's model, data and
scoring) over the long run's whole schedule, scored on validation and test at each checkpoint of
``--eval-at``: a probe of P steps is the first P steps of the long run it would become (the schedule truncated,
not compressed), which is how trex's probes train. For every checkpoint P the script says whether the learning
rate that leads at P is the one that leads at the last checkpoint, and how far the leader at P ends below the
final best. Runs one training process at a time; each learning rate's result is written to ``--out`` when it
finishes, and a stopped run continues from there.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_lr(task: str, lr: float, steps: int, eval_at: str, out: Path) -> dict:
    path = out / f"lr_{lr:g}.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    command = [sys.executable, str(ROOT / "benchmarks" / "plain_trl.py"), "--task", task, "--steps", str(steps)]
    command += ["--eval-at", eval_at, "--lr", str(lr), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    path.write_text(json.dumps(result), encoding="utf-8")
    return result


def agreement(runs: list[dict]) -> list[dict]:
    """Per checkpoint: the leader there, whether it is the final leader, and its final score's shortfall."""
    steps = [row["step"] for row in runs[0]["checkpoints"]]
    final = {run["lr"]: run["checkpoints"][-1]["val"] for run in runs}
    best_final = max(final.values())
    rows = []
    for i, step in enumerate(steps):
        at = {run["lr"]: run["checkpoints"][i]["val"] for run in runs}
        leader = max(at, key=lambda lr: (at[lr], lr))
        rows.append(
            {
                "step": step,
                "val": at,
                "leader": leader,
                "holds": final[leader] == best_final,
                "shortfall": round(best_final - final[leader], 4),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default=str(ROOT / "examples" / "tasks" / "rotten_tomatoes.yaml"))
    parser.add_argument("--lrs", default="2e-4,6e-4,2e-3")
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--eval-at", default="16,32,64,128,256")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "probe_length")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = []
    for lr in (float(x) for x in args.lrs.split(",")):
        runs.append(run_lr(args.task, lr, args.steps, args.eval_at, args.out))
        print(
            f"lr {lr:g}: " + ", ".join(f"{r['step']}: {r['val']:.3f}" for r in runs[-1]["checkpoints"]),
            file=sys.stderr,
        )
    report = {"task": args.task, "steps": args.steps, "runs": runs, "agreement": agreement(runs)}
    if args.json:
        print(json.dumps(report))
    else:
        for row in report["agreement"]:
            print(f"step {row['step']}: leader {row['leader']:g} holds={row['holds']} shortfall {row['shortfall']}")


if __name__ == "__main__":
    main()
