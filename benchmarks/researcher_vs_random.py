"""Does the heuristic researcher earn its keep? The same search driven by it and by random choice.

    .venv/bin/python benchmarks/researcher_vs_random.py [--task FILE] [--seeds N] [--first-seed S] [--iterations K]
        [--researchers heuristic random] [--workspace DIR] [--json]

For each seed, two complete ``trex run`` searches on the same task, policy (MCTS) and number of
nodes, without the task's wall-clock budget (``--no-wall-clock``: on 2 cores the demo task's makes any
researcher train one run): one with ``--researcher heuristic``, one with ``--researcher random``, which draws the
strategy and every config at random from the heuristic's own space (``trex.agents.random_researcher``).
Each run is a real search in its own workspace, in its own process: recipes, training, evaluation.
The figure is each run's best validation score (the search's objective); the test score of the
node it picked is shown beside it. Prints a row per seed, the means and standard deviations, and
the heuristic's wins, and the training steps each search spent (the compute behind its score; the researchers
differ in it); ``--json`` prints ``{"heuristic": {"mean", "std", "val", "test", "steps"}, "random":
{...}, "seeds": N, ...}``.

The default task is ``examples/tasks/support_tickets.yaml`` (a 2-layer model trained from scratch
on a generated routing task with flawed training data): 3 seeds x 2 researchers x 5 nodes finish
in about 15 minutes on 2 CPU cores. ``--task examples/tasks/rotten_tomatoes.yaml`` runs the demo
task (SmolLM2-135M; about 3 minutes a node).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trex.run.options import summarize
from trex.store import Store

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TASK = ROOT / "examples" / "tasks" / "support_tickets.yaml"
RESEARCHERS = ("heuristic", "random")


def run_search(task: Path, workspace: Path, researcher: str, seed: int, iterations: int | None) -> dict:
    """One complete search in a fresh process; returns its best validation and test scores."""
    command = [sys.executable, "-m", "trex", "run", str(task), "--workspace", str(workspace)]
    command += ["--researcher", researcher, "--seed", str(seed), "--no-wall-clock"]
    if iterations is not None:
        command += ["--iterations", str(iterations)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"{researcher} seed {seed} failed (exit {done.returncode}): {tail[0]}")
    store = Store.open_existing(workspace, read_only=True)
    try:
        summary = summarize(store)
        steps = trained_steps(store)
    finally:
        store.close()
    return {
        "val": summary.best_val,
        "test": summary.best_test,
        "nodes": summary.nodes,
        "seconds": seconds,
        "steps": steps,
    }


def trained_steps(store: Store) -> int:
    """Training steps the search spent, every job of every node (probes, continuations and failures' partial runs
    that reported steps included): what it cost in compute, beside what it scored."""
    jobs = (job for node in store.load_tree().nodes for job in store.jobs_of(node))
    return sum(job.result.train.steps for job in jobs if job.result is not None and job.result.train is not None)


def _stats(runs: list[dict]) -> dict:
    val = [r["val"] for r in runs]
    test = [r["test"] for r in runs]
    return {
        "mean": statistics.fmean(val),
        "std": statistics.stdev(val) if len(val) > 1 else 0.0,
        "test_mean": statistics.fmean(test),
        "val": val,
        "test": test,
        "seconds": sum(r["seconds"] for r in runs),
        "steps": [r["steps"] for r in runs],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=Path, default=DEFAULT_TASK)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run are first-seed .. first-seed + seeds - 1")
    parser.add_argument("--iterations", type=int, default=None, help="nodes per search (default: the task's)")
    parser.add_argument("--workspace", type=Path, default=None, help="keep the runs here (default: a temp folder)")
    parser.add_argument(
        "--researchers", nargs="+", choices=RESEARCHERS, default=list(RESEARCHERS),
        help="run these arms only (to rerun one after a change that the other's code does not reach)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    task = args.task.resolve()
    if not task.is_file():
        parser.error(f"--task: no such file {task}")

    with tempfile.TemporaryDirectory(prefix="trex-rvr-") as tmp:
        base = args.workspace or Path(tmp)
        runs: dict[str, list[dict]] = {name: [] for name in args.researchers}
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for name in args.researchers:
                result = run_search(task, base / f"seed{seed}-{name}", name, seed, args.iterations)
                runs[name].append(result)
                if not args.json:
                    print(
                        f"seed {seed} {name:9s} best val {result['val']:.3f}  test {result['test']:.3f}  "
                        f"({result['nodes']} nodes, {result['steps']} training steps, {result['seconds']:.0f} s)",
                        flush=True,
                    )
    both = len(runs) == len(RESEARCHERS)
    wins = sum(h["val"] > r["val"] for h, r in zip(runs["heuristic"], runs["random"], strict=True)) if both else None
    report = {
        "task": str(task.relative_to(ROOT) if task.is_relative_to(ROOT) else task),
        "seeds": args.seeds,
        "first_seed": args.first_seed,
        "iterations": next(iter(runs.values()))[0]["nodes"],
        **{name: _stats(results) for name, results in runs.items()},
        "heuristic_wins": wins,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for name in args.researchers:
        s = report[name]
        print(
            f"{name:9s} best val {s['mean']:.3f} ± {s['std']:.3f}   test {s['test_mean']:.3f}   {s['seconds']:.0f} s"
        )
    if wins is not None:
        print(f"heuristic ahead on {wins} of {args.seeds} seeds; {report['iterations']} nodes a search")


if __name__ == "__main__":
    main()
