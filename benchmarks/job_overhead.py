"""What a trex Job adds to a plain TRL run: the same training as a plain script and as a Job.

    .venv/bin/python benchmarks/job_overhead.py [--steps 800] [--repeats 3] [--json]

Both sides start a fresh Python process and do the same work on the tiny task (2-layer Qwen2,
Rotten Tomatoes slice): load the model and data, train LoRA for ``--steps`` steps (batch 16,
length 96), merge, and score validation and test. The plain side is ``benchmarks/plain_job.py``
(transformers, TRL, PEFT, datasets; no trex). The trex side is the root's first config as trex plans
it (``default_job``, decontamination included), run through the LocalScheduler:
worker subprocess, data recipe, training, evaluation with intervals and bad cases, result.json.
Runs alternate (plain, trex, plain, trex, ...); each side's figure is its fastest run. The plain
script uses the same settings as the Job, gradient checkpointing off included (TRL turns it on by
default, which costs about 12% here; one extra run with TRL's defaults shows that figure too).
Prints both wall times and the ratio; ``--json`` prints ``{"plain_s", "trex_s", "ratio",
"plain_trl_defaults_s", ...}``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trex.assets import resolve_data, resolve_model
from trex.run.executor import default_job
from trex.runtime.job import JobRequest
from trex.runtime.local import LocalScheduler
from trex.task.spec import load_task

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    base = load_task(ROOT / "examples" / "tasks" / "tiny.yaml")
    training = base.training.model_copy(update={"max_steps": args.steps, "batch_size": 16, "max_length": 96})
    task = base.model_copy(update={"training": training})
    job = default_job(task, seed=0)

    work = Path(tempfile.mkdtemp(prefix="trex-overhead-"))
    spec = {
        "model": resolve_model(task.base_model),
        "train": resolve_data(task.train_data or ""),
        "validation": resolve_data(task.eval.validation),
        "test": resolve_data(task.eval.test),
        "prompt": task.eval.prompt_template,
        "choices": task.eval.choices,
        "steps": args.steps,
        "batch_size": 16,
        "lr": training.learning_rate,
        "max_length": 96,
        "out": str(work / "plain"),
    }
    (work / "plain_defaults.json").write_text(json.dumps(spec))
    (work / "plain.json").write_text(json.dumps({**spec, "gradient_checkpointing": training.gradient_checkpointing}))
    plain_times, trex_times = [], []
    for repeat in range(args.repeats):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "plain_job.py"), str(work / "plain.json")],
            capture_output=True,
            text=True,
            check=False,
        )
        plain_times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"plain script failed: {done.stderr[-2000:]}")
        results: list = []
        start = time.perf_counter()
        request = JobRequest(job=job, workdir=str(work / f"trex-{repeat}"))
        LocalScheduler(timeout_s=3600, gpus=[]).run([request], lambda _, result, out=results: out.append(result))
        trex_times.append(time.perf_counter() - start)
        if results[0].status != "ok":
            raise SystemExit(f"trex job failed: {results[0].error}")
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "plain_job.py"), str(work / "plain_defaults.json")],
        capture_output=True,
        check=True,
    )
    defaults_s = time.perf_counter() - start
    plain_s, trex_s = min(plain_times), min(trex_times)
    out = {
        "plain_s": plain_s,
        "trex_s": trex_s,
        "ratio": trex_s / plain_s,
        "plain_trl_defaults_s": defaults_s,
        "plain_runs": plain_times,
        "trex_runs": trex_times,
        "steps": args.steps,
    }
    if args.json:
        print(json.dumps(out))
        return
    print(f"plain TRL script {plain_s:.1f} s, trex job {trex_s:.1f} s: ratio {trex_s / plain_s:.3f}")
    print(f"plain TRL script with TRL's defaults (gradient checkpointing on): {defaults_s:.1f} s")


if __name__ == "__main__":
    main()
