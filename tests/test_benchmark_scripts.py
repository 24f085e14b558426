"""The benchmark scripts still run (a tiny configuration each): figures come from them, so they must not rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
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


@pytest.mark.slow
def test_search_sim_json_has_every_policy() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "search_sim.py"), "--seeds", "3", "--iterations", "5"]
        + ["--budget", "compute", "--workers", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    table = json.loads(out.stdout)
    assert set(table) == {"trex", "mcts", "gbfs", "ses", "random", "tpe", "random_search", "asha"}
    assert all({"mean", "median", "std", "reach90"} <= set(row) for row in table.values())
    assert all(0.0 < row["mean"] <= 1.0 for row in table.values())
    low, high = table["trex"]["diff_vs_tpe_ci95"]
    assert low <= table["trex"]["mean"] - table["tpe"]["mean"] <= high
    assert set(table["mcts"]["diff_ci95"]) == {"gbfs", "ses", "random"}


@pytest.mark.slow
def test_researcher_vs_random_runs_both_searches(tmp_path: Path) -> None:
    task = ROOT / "examples" / "tasks" / "tiny.yaml"
    command = [sys.executable, str(ROOT / "benchmarks" / "researcher_vs_random.py"), "--task", str(task)]
    command += ["--seeds", "1", "--iterations", "2", "--workspace", str(tmp_path), "--json"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    assert report["seeds"] == 1 and report["iterations"] == 2 and report["task"] == "examples/tasks/tiny.yaml"
    for name in ("heuristic", "random"):
        assert {"mean", "std", "val", "test", "steps"} <= set(report[name]) and len(report[name]["val"]) == 1
        assert 0.0 <= report[name]["mean"] <= 1.0
    # the random run really planned by chance: its child node says so
    from trex.store import Store

    store = Store.open_existing(tmp_path / "seed0-random", read_only=True)
    try:
        plans = [store.node_plan(node_id) for node_id in (1, 2)]
        jobs = [job for node_id in (1, 2) for job in store.jobs_of(node_id) if job.result and job.result.train]
    finally:
        store.close()
    assert report["random"]["steps"] == [sum(job.result.train.steps for job in jobs)] and jobs  # every job's steps
    assert all("Random control" in plan.rationale for plan in plans)


def run_equal_budget(out: Path, *extra: str) -> dict:
    task = ROOT / "examples" / "tasks" / "tiny.yaml"
    command = [sys.executable, str(ROOT / "benchmarks" / "equal_budget.py"), "--task", str(task)]
    command += ["--minutes", "0.5", "--seeds", "1", "--out", str(out), "--json", *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.slow
def test_equal_budget_runs_four_arms_on_the_same_budget_and_resumes(tmp_path: Path) -> None:
    report = run_equal_budget(tmp_path)
    assert report["budget_s"] == 30 and report["task"] == "examples/tasks/tiny.yaml" and report["resumed"] == []
    assert set(report["arms"]) == {"plain", "optuna", "asha", "trex"}
    for arm in report["arms"].values():
        assert {"val", "test", "wall_s"} <= set(arm) and len(arm["val"]) == len(arm["test"]) == 1
        assert all(0.0 <= x <= 1.0 for x in arm["val"] + arm["test"])
    # optuna and asha picked their model by validation: their scores are those of their best trial (or rung)
    for name in ("optuna", "asha"):
        trials = report["arms"][name]["trials"][0]
        assert len(trials) >= 1 and {"learning_rate", "steps", "lora_r", "balanced"} <= set(trials[0])
        assert all(1e-5 <= t["learning_rate"] <= 3e-3 and t["lora_r"] in (4, 8, 16, 32, 64) for t in trials)
        best = max((t for t in trials if t["val"] is not None), key=lambda t: t["val"])
        assert report["arms"][name]["val"] == [best["val"]]
    rungs = report["arms"]["asha"]["rungs"][0]
    assert rungs[1] == 3 * rungs[0] and all(t["steps"] in rungs for t in report["arms"]["asha"]["trials"][0])
    folder = tmp_path / "tiny" / "0.5min" / "seed0"
    assert (folder / "trex" / "trex.db").exists() and (folder / "timing.json").exists()
    # a stopped benchmark continues: finished arms are read back, not run again (a missing one runs, as above)
    finished = {arm: (folder / f"{arm}.json").stat().st_mtime_ns for arm in ("plain", "asha")}
    again = run_equal_budget(tmp_path, "--arms", "plain,asha")
    assert again["resumed"] == [[0, "plain"], [0, "asha"]]
    assert {arm: (folder / f"{arm}.json").stat().st_mtime_ns for arm in finished} == finished
    assert again["arms"]["plain"]["val"] == report["arms"]["plain"]["val"]


@pytest.mark.slow
def test_prompt_budget_counts_every_part_of_the_plan_prompt() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "prompt_budget.py"), "--nodes", "8"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["nodes"] == 8 and figures["memory_tokens"] == 2000 and figures["siblings"] >= 1
    parts = figures["parts"]
    assert set(parts) == {"context", "parent", "siblings", "in_flight", "data", "format", "operators"} | {
        "train_schema",
        "suggestions",
    }
    assert all(tokens > 0 for tokens in parts.values()), parts
    assert figures["system"] + sum(parts.values()) < figures["total"] < 16_000 and figures["answer_schema"] > 0


@pytest.mark.slow
def test_utilization_runs_the_loop_through_ray_and_its_quality_model(tmp_path: Path) -> None:
    quality = tmp_path / "q.json"
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "utilization.py"), "--gpus", "2", "--configs", "1"]
        + ["--nodes", "3", "--unit-s", "0.05", "--seeds", "3", "--quality", str(quality), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    runs = json.loads(out.stdout.strip().splitlines()[-1])
    assert [r["parallel_nodes"] for r in runs] == [1, 2]  # P=1, then the default: ceil(G / K) nodes in flight
    for run in runs:
        assert 0.0 < run["utilization"] <= 1.0 and run["nodes_per_hour"] > 0 and 0.0 < run["sim_score"] <= 1.0
    report = json.loads(quality.read_text())
    assert report["seeds"] == 3 and report["nodes"] == 3
    low, high = report["equal_nodes_diff_ci95"]
    assert low <= report["equal_nodes_mean"] - report["p1_mean"] <= high


def _job(folder: Path, lr: float | None, steps: int, score: float, rank: int = 16, balanced: bool = False,
         init_from: Path | None = None) -> None:  # fmt: skip
    """A finished job folder as the worker leaves it (the fields the calibration reads)."""
    folder.mkdir(parents=True)
    train = None if lr is None else {"learning_rate": lr, "lora_r": rank, "lr_scheduler": "linear", "max_steps": steps}
    draw = {
        "op": "select_by_random",
        "args": {"n": 8 * steps, "seed": 0, "stratify_by": "label" if balanced else None},
    }
    job = {"eval": {"validation": "embedded:synthetic/validation"}, "train": train, "recipe": {"steps": [draw]}}
    (folder / "job.json").write_text(json.dumps({"job": job, "init_from": init_from and str(init_from)}))
    result = {"status": "ok", "train": {"steps": steps} if train else None}
    result["validation"] = {"score": {"value": score, "low": score - 0.04, "high": score + 0.04}}
    (folder / "result.json").write_text(json.dumps(result))


def test_calibrate_sim_recovers_a_known_curve_and_runs_the_four_arms_on_it(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import numpy as np
    from calibrate_sim import curve

    truth = np.array([0.55, 0.3, -3.2, 0.7, 2.4, 0.5, 1.0, 0.6, 0.01, 0.05])
    seed = tmp_path / "synthetic" / "20min" / "seed0"
    _job(seed / "trex" / "base", None, 0, 0.55)
    points = [(lr, steps) for lr in (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3) for steps in (16, 64, 256)]
    for i, (lr, steps) in enumerate(points):
        rank, balanced = (4, 64)[i % 2], i % 3 == 0
        _job(seed / "optuna" / f"trial{i}", lr, steps, float(curve(truth, np.log10(lr), steps, rank, balanced)),
             rank, balanced)  # fmt: skip
    parent = seed / "asha" / "trial0" / "rung0"
    _job(parent, 6e-4, 24, float(curve(truth, np.log10(6e-4), 24, 16, False)))
    _job(
        seed / "asha" / "trial0" / "rung1",
        6e-4,
        48,
        float(curve(truth, np.log10(6e-4), 72, 16, False)),
        init_from=parent,
    )
    (seed / "timing.json").write_text(json.dumps({"fixed_s": 20.0, "step_s": 2.5, "seen": [], "test_s": 10.0}))
    (seed / "plain.json").write_text(json.dumps({"val": 0.8}))
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "calibrate_sim.py"), "--runs", str(tmp_path), "--seeds", "4"]
        + ["--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    row = json.loads(out.stdout)["synthetic"]
    assert row["fitted"] and row["points"] == len(points) + 3
    continued = [r for r in row["residuals"] if r["source"].endswith("rung1")]
    assert continued[0]["steps"] == 72  # a warm start counts its parent's steps
    assert row["rmse"] < 0.01 and abs(row["params"]["lr_opt"] - truth[2]) < 0.2  # noiseless points: the curve back
    assert row["budget"] == {"steps": 480, "job_steps": 8, "noise": pytest.approx(0.04 / 1.96)}
    assert set(row["arms"]) == {"plain", "optuna", "asha", "trex"}
    assert all(0.5 < arm["sim_true"] <= 1.0 for arm in row["arms"].values())
    assert row["arms"]["plain"]["real_val"] == [0.8] and row["arms"]["trex"]["real_val"] is None


@pytest.mark.slow
def test_search_sim_runs_every_method_on_a_calibrated_landscape(tmp_path: Path) -> None:
    params = dict(base=0.55, height=0.3, lr_opt=-3.2, lr_width=0.7, log_steps_opt=2.4, under_width=0.5,
                  over_width=1.0, lr_speed=0.6, rank_gain=0.0, balance_gain=0.0)  # fmt: skip
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps({"demo": {"fitted": True, "params": params, "noise_se": 0.02}}))
    command = [sys.executable, str(ROOT / "benchmarks" / "search_sim.py"), "--seeds", "2", "--iterations", "2"]
    out = subprocess.run(
        command + ["--budget", "compute", "--workers", "1", "--json", "--calibrated", f"{fit}:demo"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    table = json.loads(out.stdout)
    assert all(0.0 < row["mean"] <= 1.0 + 1e-9 for row in table.values()) and "tpe" in table
    refused = subprocess.run(command + ["--calibrated", f"{fit}:other"], capture_output=True, text=True)
    assert refused.returncode == 2 and "no fitted task 'other'" in refused.stderr
