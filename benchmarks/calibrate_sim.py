"""Fit the simulator's learning curve to real training runs, publish the residuals, re-run the arms on the fit.

    .venv/bin/python benchmarks/calibrate_sim.py [--runs runs/equal_budget [DIR ...]] [--minutes 20] [--seeds 300]
        [--json]

**The observations.** Every finished job under the ``--runs`` folders (the equal-budget benchmark's folders: its
timing run, the plain run, Optuna's trials, ASHA's rungs, and every job of trex's own workspaces; any other trex
workspace may be added, such as the demo's) is one point: its learning
rate, its effective steps (a warm start adds its parent's), LoRA rank, whether its rows were label-balanced, the
schedule (a constant-rate probe or a decayed run) and its validation score with its bootstrap interval. A
base-model job is the point at zero steps.

**The fit.** ``benchmarks/simulator.py``'s training term, per task, plus the two levers the simulator lacks:

    score = base + height * exp(-((x - lr_opt) / lr_width)^2 - (p / w)^2) + rank_gain * log2(r / 16)
            + balance_gain * balanced,   x = log10(lr),  p = log10(steps) + lr_speed * (x - lr_opt) - log_steps_opt

(``w``: ``under_width`` below the step optimum, ``over_width`` above), by weighted least squares (each point
weighted by its interval) from several seeded starts inside the simulator's own priors; a lever no run moved
(one rank, or no balanced sample) is held at zero. A task needs
``MIN_POINTS`` observations to be fitted. Printed: the parameters, each point's residual in units of its own
standard error, the RMSE beside the evaluation's noise (the mean standard error): a fit whose RMSE is near the
noise explains what the runs show; a larger one says which points it misses.

**The arms on the fit.** The four arms of ``benchmarks/equal_budget.py``, each on the fitted curve with the
evaluation's noise, at the budget the real runs had, in steps (the timing run's pace) with each job's fixed cost
(the same timing) charged in steps: ``plain`` (its config, every step), ``optuna`` (TPE over the same space),
``asha`` (the same rungs, Optuna's pruner) and ``trex`` (its probe rule: the grid of ``trex.agents.root_probes``
at ``ProbeRoot`` steps, a quarter of the budget, the best continued for the rest). Each picks by noisy validation
and is scored by the curve's true value. Printed beside the real arms' validation means, to say where the
calibrated simulator agrees with the real runs and where it does not.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import optuna
from scipy.optimize import least_squares

ROOT = Path(__file__).resolve().parents[1]
MIN_POINTS = 8
NAMES = (
    "base", "height", "lr_opt", "lr_width", "log_steps_opt", "under_width", "over_width", "lr_speed",
    "rank_gain", "balance_gain",
)  # fmt: skip
# bounds: the simulator's priors (benchmarks/simulator.py Landscape), widened where real runs may leave them
LOW = (0.0, 0.0, -5.5, 0.2, 1.0, 0.1, 0.2, 0.0, -0.1, -0.2)
HIGH = (1.0, 1.0, -2.0, 2.0, 3.5, 1.5, 3.0, 1.5, 0.1, 0.2)
optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass(frozen=True)
class Point:
    task: str
    source: str  # the job folder, relative to --runs
    log_lr: float
    steps: int  # effective: a warm start's parent steps included
    rank: int
    balanced: bool
    constant: bool  # a constant-rate (probe) schedule
    val: float
    se: float  # the validation score's standard error, from its 95% interval


def _effective_steps(folder: Path, seen: dict[Path, int]) -> int:
    """Steps of the job in ``folder`` plus those of the job it continued, recursively."""
    if folder in seen:
        return seen[folder]
    request = json.loads((folder / "job.json").read_text())
    result = json.loads((folder / "result.json").read_text())
    own = (result.get("train") or {}).get("steps") or 0
    parent = request.get("init_from")
    steps = own + (_effective_steps(Path(parent), seen) if parent and (Path(parent) / "result.json").exists() else 0)
    seen[folder] = steps
    return steps


def observations(runs: Path) -> list[Point]:
    """Every finished job with a validation score under ``runs`` (test-only scorings are not jobs of their own)."""
    points, seen = [], {}
    for result_path in sorted(runs.rglob("result.json")):
        folder = result_path.parent
        if not (folder / "job.json").exists():
            continue
        request = json.loads((folder / "job.json").read_text())
        result = json.loads(result_path.read_text())
        validation = result.get("validation")
        if request.get("test_only") or result.get("status") != "ok" or not validation:
            continue
        job, score = request["job"], validation["score"]
        train = job.get("train") or {}
        draws = [s["args"] for s in job["recipe"]["steps"] if s["op"] == "select_by_random"]
        points.append(
            Point(
                task=job["eval"]["validation"].split(":")[-1].split("/")[0],
                source=str(folder.relative_to(runs)),
                log_lr=math.log10(train.get("learning_rate", 2e-4)),
                steps=_effective_steps(folder, seen) if train else 0,
                rank=int(train.get("lora_r") or 16),
                balanced=any(d.get("stratify_by") for d in draws),
                constant=train.get("lr_scheduler") == "constant",
                val=float(score["value"]),
                se=max(1e-3, (score["high"] - score["low"]) / (2 * 1.96)),
            )
        )
    return points


def curve(theta: np.ndarray, log_lr, steps, rank, balanced):  # noqa: ANN001, ANN201 (arrays or scalars)
    base, height, lr_opt, lr_width, log_steps_opt, under, over, speed, rank_gain, balance_gain = theta
    steps = np.maximum(np.asarray(steps, dtype=float), 1e-9)
    progress = np.log10(steps) + speed * (np.asarray(log_lr) - lr_opt) - log_steps_opt
    width = np.where(progress < 0, under, over)
    train = height * np.exp(-(((np.asarray(log_lr) - lr_opt) / lr_width) ** 2) - (progress / width) ** 2)
    levers = rank_gain * np.log2(np.asarray(rank) / 16) + balance_gain * np.asarray(balanced, float)
    trained = np.asarray(steps) >= 1  # the base model: no training term, and its recipe's levers do not count
    return base + np.where(trained, train + levers, 0.0)


def fit(points: list[Point], seed: int = 0, starts: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """The least-squares parameters and the residuals in standard errors (the best of ``starts`` seeded starts)."""
    x = [np.array([getattr(p, name) for p in points]) for name in ("log_lr", "steps", "rank", "balanced")]
    val, se = np.array([p.val for p in points]), np.array([p.se for p in points])
    low, high = np.array(LOW), np.array(HIGH)
    for i, seen in (
        (NAMES.index("rank_gain"), {p.rank for p in points}),
        (NAMES.index("balance_gain"), {p.balanced for p in points}),
    ):
        if len(seen) < 2:  # a lever the runs never moved has no effect to fit: held at zero
            low[i], high[i] = -1e-12, 1e-12
    rng, best = np.random.default_rng(seed), None
    for _ in range(starts):
        start = rng.uniform(low, high)
        zero = [p.val for p in points if p.steps == 0]
        start[0] = zero[0] if zero else min(val)
        found = least_squares(lambda t: (curve(t, *x) - val) / se, start, bounds=(low, high))
        if best is None or found.cost < best.cost:
            best = found
    return best.x, best.fun


@dataclass
class Budget:
    """What the real runs had, in steps: the whole budget and each job's fixed cost."""

    steps: int
    job_steps: int
    noise: float


class Sim:
    """One noisy search on the fitted curve: charges steps, remembers the best observed config's true value."""

    def __init__(self, theta: np.ndarray, budget: Budget, seed: int) -> None:
        self.theta, self.budget, self.rng = theta, budget, random.Random(seed)
        self.spent, self.best = 0, (-math.inf, 0.0)

    def left(self) -> int:
        return self.budget.steps - self.spent

    def run(self, log_lr: float, steps: int, rank: int = 16, balanced: bool = False, own: int | None = None) -> float:
        """Train ``own`` steps (default ``steps``: from scratch) to reach ``steps`` effective steps; score."""
        self.spent += (steps if own is None else own) + self.budget.job_steps
        true = float(curve(self.theta, log_lr, steps, rank, balanced))
        seen = true + self.rng.gauss(0.0, self.budget.noise)
        if seen > self.best[0]:
            self.best = (seen, true)
        return seen


def sim_plain(sim: Sim, seed: int) -> None:
    sim.run(math.log10(2e-4), max(1, sim.left() - sim.budget.job_steps))


def _suggest(trial) -> tuple[float, int, bool]:  # noqa: ANN001 (optuna.Trial)
    lr = trial.suggest_float("learning_rate", 1e-5, 3e-3, log=True)
    return (
        math.log10(lr),
        trial.suggest_categorical("lora_r", (4, 8, 16, 32, 64)),
        trial.suggest_categorical("balanced", (False, True)),
    )


def sim_optuna(sim: Sim, seed: int, min_steps: int = 4) -> None:
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True))
    top = max(min_steps + 1, sim.left() - sim.budget.job_steps)
    while (fit := sim.left() - sim.budget.job_steps) >= min_steps:
        trial = study.ask()
        log_lr, rank, balanced = _suggest(trial)
        steps = min(trial.suggest_int("max_steps", min_steps, top, log=True), fit)
        study.tell(trial, sim.run(log_lr, steps, rank, balanced))


def sim_asha(sim: Sim, seed: int, eta: int = 3) -> None:
    r0 = max(4, (sim.left() // 3 - sim.budget.job_steps) // eta**2)
    rungs = [r0 * eta**k for k in range(3)]
    pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=r0, reduction_factor=eta)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed), pruner=pruner)
    while sim.left() - sim.budget.job_steps >= r0:
        trial = study.ask()
        log_lr, rank, balanced = _suggest(trial)
        done, value = 0, None
        for total in rungs:
            if sim.left() - sim.budget.job_steps < total - done:
                break
            value = sim.run(log_lr, total, rank, balanced, own=total - done)
            done = total
            trial.report(value, step=total)
            if trial.should_prune():
                break
        if value is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        elif done < rungs[-1]:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)


def sim_trex(sim: Sim, seed: int) -> None:
    """trex's probe rule: the untuned grid at ``ProbeRoot`` steps (constant rate), then the best continued."""
    from trex.agents.root_probes import UNTUNED_FACTORS
    from trex.run.budget import PROBE_STEPS

    scored = [(sim.run(math.log10(2e-4 * f), PROBE_STEPS), math.log10(2e-4 * f)) for f in UNTUNED_FACTORS]
    _, log_lr = max(scored)
    own = max(1, sim.left() - sim.budget.job_steps)
    sim.run(log_lr, PROBE_STEPS + own, own=own)


ARMS = {"plain": sim_plain, "optuna": sim_optuna, "asha": sim_asha, "trex": sim_trex}


def real_arms(runs: list[Path], task: str, minutes: float) -> dict[str, list[float]]:
    """The real arms' validation scores, per arm, over the seeds that finished."""
    out: dict[str, list[float]] = {}
    for path in sorted(p for folder in runs for p in (folder / task / f"{minutes:g}min").glob("seed*/*.json")):
        if path.stem in ARMS:
            out.setdefault(path.stem, []).append(json.loads(path.read_text())["val"])
    return out


def budget_of(runs: list[Path], task: str, minutes: float, noise: float) -> Budget | None:
    timings = sorted(p for folder in runs for p in (folder / task / f"{minutes:g}min").glob("seed*/timing.json"))
    if not timings:
        return None
    timing = json.loads(timings[0].read_text())
    return Budget(int(minutes * 60 / timing["step_s"]), round(timing["fixed_s"] / timing["step_s"]), noise)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, nargs="+", default=[ROOT / "runs" / "equal_budget"])
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--seeds", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    points = [p for folder in args.runs for p in observations(folder)]
    report: dict[str, dict] = {}
    for task in sorted({p.task for p in points}):
        mine = [p for p in points if p.task == task]
        if len(mine) < MIN_POINTS:
            report[task] = {"points": len(mine), "fitted": False, "why": f"fewer than {MIN_POINTS} observations"}
            continue
        theta, residuals = fit(mine)
        fitted = np.array([curve(theta, p.log_lr, p.steps, p.rank, p.balanced) for p in mine])
        noise = statistics.fmean(p.se for p in mine)
        row = {
            "points": len(mine),
            "fitted": True,
            "params": dict(zip(NAMES, map(float, theta), strict=True)),
            "rmse": float(np.sqrt(np.mean((fitted - [p.val for p in mine]) ** 2))),
            "noise_se": noise,
            "residuals": [
                {**asdict(p), "fit": float(f), "z": float(z)} for p, f, z in zip(mine, fitted, residuals, strict=True)
            ],
        }
        budget = budget_of(args.runs, task, args.minutes, noise)
        if budget is not None:
            sims = {name: [] for name in ARMS}
            for seed in range(args.seeds):
                for name, arm in ARMS.items():
                    sim = Sim(theta, budget, seed)
                    arm(sim, seed)
                    sims[name].append(sim.best[1])
            real = real_arms(args.runs, task, args.minutes)
            row["budget"] = asdict(budget)
            row["arms"] = {
                name: {"sim_true": statistics.fmean(v), "real_val": real.get(name)} for name, v in sims.items()
            }
        report[task] = row
    if args.json:
        print(json.dumps(report))
        return
    for task, row in report.items():
        print(f"== {task}: {row['points']} points" + ("" if row["fitted"] else f", not fitted ({row['why']})"))
        if not row["fitted"]:
            continue
        print("  " + ", ".join(f"{k} {v:.3g}" for k, v in row["params"].items()))
        print(f"  rmse {row['rmse']:.3f} against the evaluation's standard error {row['noise_se']:.3f}")
        for r in sorted(row["residuals"], key=lambda r: -abs(r["z"])):
            kind = "const" if r["constant"] else "decay"
            print(
                f"  {r['source'][:48]:48} lr {10 ** r['log_lr']:.2g} steps {r['steps']:4d} r{r['rank']:<2d} "
                f"{'bal' if r['balanced'] else '   '} {kind}  val {r['val']:.3f} fit {r['fit']:.3f} z {r['z']:+.1f}"
            )
        for name, arm in row.get("arms", {}).items():
            print(f"  {name:6s} simulated {arm['sim_true']:.3f}  real val {arm['real_val']}")


if __name__ == "__main__":
    main()
