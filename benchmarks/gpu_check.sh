#!/usr/bin/env bash
# A short, prepared GPU check (about 2 minutes on an H100): trex's LoRA SFT and full fine-tuning
# throughput and MFU on a Qwen3-1.7B-shaped model, evaluation throughput, and one tiny trex job
# on the GPU through the local scheduler. Results go to $OUT (or ./gpu_check_out) as JSON.
# Run from the repository root on the lent machine after `make install`:
#     bash benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-gpu_check_out}"
mkdir -p "$OUT"
PY="${PY:-.venv/bin/python}"  # another interpreter: PY=python3 bash benchmarks/gpu_check.sh
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/card.txt"
$PY benchmarks/gpu_check.py --json | tee "$OUT/throughput.json"
$PY benchmarks/gpu_check.py --batch 4 --seq 2048 --json | tee "$OUT/throughput_long.json"
# a real trex job on the GPU: the tiny task, one config, through the worker (bf16, CUDA_VISIBLE_DEVICES)
$PY - <<'PY' | tee "$OUT/job.json"
import json, tempfile
from trex.run.executor import plan_jobs
from trex.agents.heuristic.researcher import HeuristicResearcher
from trex.runtime.job import JobRequest
from trex.runtime.local import LocalScheduler
from trex.task.spec import load_task
task = load_task("examples/tasks/tiny.yaml")
plan = HeuristicResearcher(task).root_plan()
plan = plan.model_copy(update={"configs": plan.configs[:1]})
((_, job),) = plan_jobs(task, plan, seed=0, with_baseline=False)
results = []
scheduler = LocalScheduler(timeout_s=600)
scheduler.run([JobRequest(job=job, workdir=tempfile.mkdtemp())], lambda _, r: results.append(r))
r = results[0]
print(json.dumps({"gpus_seen": scheduler.gpus, "status": r.status, "error": r.error, "seconds": r.seconds, "gpus": r.gpus}))
PY
