"""What the general-ability check costs a job on the demo task: its seconds beside the job's own scoring.

    .venv/bin/python benchmarks/drift_cost.py [--task FILE] [--sizes 48x64,32x48,24x48] [--repeats 2] [--json]

In one process, as a worker does: loads the task's base model, then, ``--repeats`` times in turn, scores the
validation split and the test split (what the base-model job scores) and runs the check
(``trex.evaluation.general.measure_general``) at each ``PASSAGESxTOKENS`` size. Each figure is its fastest run.
``base_job_s`` is what the base-model job spends besides the check (load, validation, test; its calibration's
training left out): the smallest job of a run, so ``share`` = check / (base_job_s + check) is the check's largest
share of any job (a training job adds its steps). Prints a table, or with ``--json`` one object ``{"task",
"load_s", "validation_s", "test_s", "base_job_s", "checks": [{"passages", "max_tokens", "check_s", "share",
"perplexity", "ci"}]}``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from trex.evaluation.config import RegressionConfig
from trex.evaluation.general import measure_general
from trex.evaluation.run import evaluate_split
from trex.task.spec import load_task
from trex.train.model import load_model

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=Path, default=ROOT / "examples" / "tasks" / "rotten_tomatoes.yaml")
    parser.add_argument("--sizes", default="48x64,32x48,24x48")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    task = load_task(args.task)
    start = time.perf_counter()
    model, tokenizer = load_model(task.base_model)
    model.eval()
    load_s = time.perf_counter() - start
    sizes = [tuple(int(x) for x in size.split("x")) for size in args.sizes.split(",")]
    times: dict[str, list[float]] = {}
    figures = {}
    for _ in range(args.repeats):
        for split in ("validation", "test"):
            start = time.perf_counter()
            evaluate_split(model, tokenizer, task.eval, split)  # type: ignore[arg-type]
            times.setdefault(split, []).append(time.perf_counter() - start)
        for passages, tokens in sizes:
            score = measure_general(model, tokenizer, RegressionConfig(passages=passages, max_tokens=tokens))
            assert score is not None
            times.setdefault(f"{passages}x{tokens}", []).append(score.seconds)
            figures[(passages, tokens)] = score
    base_job = load_s + min(times["validation"]) + min(times["test"])
    checks = []
    for passages, tokens in sizes:
        check, score = min(times[f"{passages}x{tokens}"]), figures[(passages, tokens)]
        checks.append({"passages": passages, "max_tokens": tokens, "check_s": round(check, 2),
                       "share": round(check / (base_job + check), 3), "perplexity": round(score.value, 2),
                       "ci": [round(score.low, 2), round(score.high, 2)]})  # fmt: skip
    report = {"task": args.task.name, "load_s": round(load_s, 1), "validation_s": round(min(times["validation"]), 1),
              "test_s": round(min(times["test"]), 1), "base_job_s": round(base_job, 1), "checks": checks,
              "runs_s": times}  # fmt: skip
    if args.json:
        print(json.dumps(report))
        return
    print(f"load {load_s:.1f} s, validation {report['validation_s']} s, test {report['test_s']} s")
    for row in checks:
        print(f"{row['passages']:3d} passages x {row['max_tokens']:3d} tokens: {row['check_s']:6.2f} s "
              f"({row['share']:.1%} of the base-model job), perplexity {row['perplexity']} {row['ci']}")  # fmt: skip


if __name__ == "__main__":
    main()
