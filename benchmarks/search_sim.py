"""Compare trex's search with flat optimizers on simulated fine-tuning landscapes (benchmarks/simulator.py).

Methods, all on the same landscapes (seeds 0..N-1) and the same budget:
- ``mcts``, ``gbfs``, ``ses``, ``random``: the tree policies with the same simulated researcher
  (surrogate proposals, local moves, warm starts, probes promoted by an ASHA rule);
- ``trex``: the search as shipped, i.e. the row of trex's default policy (``RunOptions.policy``);
- ``tpe``: Optuna's TPE over the same levers (learning rate, steps, data level, synthetic ratio, scheme),
  multivariate (the better setting on tuning seeds), each trial trained from scratch;
- ``random_search``: uniform draws over the same levers;
- ``asha``: asynchronous successive halving with steps as the fidelity (rungs 76, 228, 683, 2048 steps,
  eta 3; a promoted config continues its own weights), new configs drawn at random as in the ASHA paper.
``--budget configs``: every method evaluates the same number of configs (iterations x k, k = 3..5 by
landscape; a probe and its promotion are one config, as are ASHA's rungs of one config). ``--budget
compute``: every method spends the same training steps (iterations x k x 400); a warm start or a
promotion pays only its own steps. A run's score is the true score of the config with the best observed
(noisy) validation score, as a fraction of the landscape's optimum. Each row: mean, median, std across
seeds, reach90 (share of runs reaching 90% of the optimum); ``trex`` adds ``diff_vs_tpe_ci95`` and
``mcts`` adds ``diff_ci95`` against gbfs, ses and random (95% intervals of the paired per-seed differences).

    .venv/bin/python benchmarks/search_sim.py --seeds 200 --iterations 20 --budget configs [--json]
    .venv/bin/python benchmarks/search_sim.py --seeds 2000 --methods mcts,gbfs,ses,random   # the policies only
    .venv/bin/python benchmarks/search_sim.py --tune  # c, scale, surrogate-off, TPE, failure, no-probe; seeds 10000+
    .venv/bin/python benchmarks/search_sim.py --tune --variants mcts~noprobe   # one variant against mcts
    .venv/bin/python benchmarks/search_sim.py --calibrated fit.json:rotten_tomatoes --budget compute
        # every seed on the learning curve fitted to real runs (benchmarks/calibrate_sim.py --json > fit.json)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import optuna
from simulator import MAX_STEPS, MIN_STEPS, ROOT_STEPS, SPACE, Landscape, Ledger, SimConfig, simulate_tree

POLICIES = ("mcts", "gbfs", "ses", "random")
FLAT = ("tpe", "random_search", "asha")
TUNING_SEED_OFFSET = 10_000
optuna.logging.set_verbosity(optuna.logging.WARNING)


def configs_per_plan(seed: int) -> int:
    return 3 + seed % 3


def run_tpe(landscape: Landscape, ledger: Ledger, seed: int, multivariate: bool = True) -> Ledger:
    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=multivariate)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    distributions, refused = SPACE.distributions(), 0
    while not ledger.exhausted() and refused < 20:
        trial = study.ask(distributions)
        cfg = SimConfig.of(trial.params)
        if not ledger.affords(cfg.steps):  # too long for what is left: ask again
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            refused += 1
            continue
        score = ledger.run(cfg, cfg.steps)
        study.tell(trial, score, state=None if score is not None else optuna.trial.TrialState.FAIL)
    return ledger


def draw(rng: random.Random, steps: int | None = None) -> SimConfig:
    log_steps = rng.uniform(math.log(MIN_STEPS), math.log(MAX_STEPS))
    return SimConfig(
        data_level=rng.randint(0, 4),
        synth_ratio=rng.uniform(0.0, 1.0),
        log_lr=rng.uniform(-6.5, -2.0),
        steps=steps or round(math.exp(log_steps)),
        full=rng.random() < 0.5,
    ).clipped()


def run_random_search(landscape: Landscape, ledger: Ledger, seed: int) -> Ledger:
    rng, refused = random.Random(seed + 1), 0
    while not ledger.exhausted() and refused < 20:
        cfg = draw(rng)
        if not ledger.affords(cfg.steps):
            refused += 1
            continue
        ledger.run(cfg, cfg.steps)
    return ledger


def run_asha(landscape: Landscape, ledger: Ledger, seed: int, eta: int = 3, rungs: int = 4) -> Ledger:
    """ASHA (Li et al. 2020), run one job at a time: promote the best unpromoted config in the top 1/eta of
    the highest rung that has one, else start a new random config at the lowest rung."""
    rng = random.Random(seed + 2)
    steps = [round(MAX_STEPS / eta ** (rungs - 1 - i)) for i in range(rungs)]
    scores: list[dict[int, float]] = [{} for _ in steps]  # rung -> config index -> score
    promoted: list[set[int]] = [set() for _ in steps]
    configs: list[SimConfig] = []
    while not ledger.exhausted():
        job = None
        for r in range(rungs - 2, -1, -1):
            ranked = sorted(scores[r], key=lambda i: -scores[r][i])[: len(scores[r]) // eta]
            ready = [i for i in ranked if i not in promoted[r]]
            if ready:
                job = (r + 1, ready[0])
                break
        if job is not None:
            r, i = job
            cost, new = steps[r] - steps[r - 1], False
        else:
            r, i, cost, new = 0, len(configs), steps[0], True
        if not ledger.affords(cost, new_config=new):
            break
        if new:
            configs.append(draw(rng, steps[0]))
        else:
            promoted[r - 1].add(i)
        score = ledger.run(SimConfig(**{**configs[i].__dict__, "steps": steps[r]}), cost, new_config=new)
        if score is not None:
            scores[r][i] = score
    return ledger


def one_seed(
    seed: int, iterations: int, budget: str, c: float, methods: tuple[str, ...], fit: dict | None = None
) -> dict[str, float]:
    """Every method on landscape ``seed`` (or, with ``fit``, on the calibrated landscape, ``seed`` drawing the
    noise and the searches' choices)."""
    landscape = Landscape(seed) if fit is None else Landscape.calibrated(fit["params"], fit["noise_se"])
    k = configs_per_plan(seed)
    optimum = landscape.optimum()
    out = {}
    for method in methods:
        ledger = Ledger(landscape, random.Random(seed), budget, iterations * k, iterations * k * ROOT_STEPS)
        method_mode, _, mode = method.partition("/")  # "gbfs/none": the researcher without the surrogate slot
        method_mode, _, flag = method_mode.partition("~")  # "mcts~noprobe": every move at full length
        name, _, variant = method_mode.partition(":")
        if name in ("tpe",):
            run_tpe(landscape, ledger, seed, multivariate=variant != "independent")
        elif name == "random_search":
            run_random_search(landscape, ledger, seed)
        elif name == "asha":
            run_asha(landscape, ledger, seed)
        else:
            simulate_tree(
                landscape, name, ledger, k, seed, c=c, failure=variant or None, mode=mode or "fixed",
                probes=flag != "noprobe",
            )  # fmt: skip
        out[method] = ledger.best_true / optimum
    return out


def summarize(fractions: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(fractions),
        "median": statistics.median(fractions),
        "std": statistics.pstdev(fractions),
        "reach90": sum(f >= 0.9 for f in fractions) / len(fractions),
    }


def ci95(a: list[float], b: list[float]) -> list[float]:
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    half = 1.96 * statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else math.inf
    return [statistics.fmean(diffs) - half, statistics.fmean(diffs) + half]


def measure(
    seeds: list[int], iterations: int, budget: str, c: float, methods: tuple[str, ...], workers: int, fit=None
):  # noqa: ANN001, ANN201
    job = partial(one_seed, iterations=iterations, budget=budget, c=c, methods=methods, fit=fit)
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            rows = list(pool.map(job, seeds, chunksize=max(1, len(seeds) // (8 * workers))))
    else:
        rows = [job(seed) for seed in seeds]
    return {m: [row[m] for row in rows] for m in methods}


def default_policy() -> str:
    try:
        from trex.run.options import RunOptions

        return RunOptions.model_fields["policy"].default
    except ImportError:  # the loop's dependencies are missing: the default as last documented
        return "mcts"


def compare(
    seeds: list[int],
    iterations: int,
    budget: str,
    c: float,
    workers: int,
    methods: tuple[str, ...] = (*POLICIES, *FLAT),
    fit: dict | None = None,
) -> dict[str, dict]:
    """Every method's row; ``trex`` (the default policy's row) with its difference to TPE, ``mcts`` with its
    differences to the other policies (those of ``methods`` only)."""
    methods = tuple(dict.fromkeys((default_policy(), *methods)))
    runs = measure(seeds, iterations, budget, c, methods, workers, fit)
    table = {"trex": summarize(runs[default_policy()])}
    if "tpe" in runs:
        table["trex"]["diff_vs_tpe_ci95"] = ci95(runs[default_policy()], runs["tpe"])
    table.update({m: summarize(v) for m, v in runs.items()})
    if "mcts" in runs:
        table["mcts"]["diff_ci95"] = {p: ci95(runs["mcts"], runs[p]) for p in ("gbfs", "ses", "random") if p in runs}
    return table


def tune(iterations: int, n: int, budget: str, workers: int, only: tuple[str, ...] = ()) -> None:
    """The variants measured on tuning seeds only (disjoint from reported seeds); ``only``: these against mcts."""
    seeds = list(range(TUNING_SEED_OFFSET, TUNING_SEED_OFFSET + n))
    from trex.search.policies import DEFAULT_C

    methods = ("mcts", "mcts_range", "mcts:zero", "uct_descent", "gbfs", "ses", "mcts/none", "gbfs/none", "tpe")
    methods += ("tpe:independent", "mcts~noprobe")
    if only:
        methods = ("mcts", *only)
    runs = measure(seeds, iterations, budget, DEFAULT_C, methods, workers)
    for m in methods:
        print(f"{m:18} mean {statistics.fmean(runs[m]):.4f}  vs mcts {ci95(runs[m], runs['mcts'])}")
    if only:
        return
    print(f"without the surrogate slot: mcts/none - gbfs/none {ci95(runs['mcts/none'], runs['gbfs/none'])}")
    for c in (0.5, 1.0, 1.5, 3.0):
        mean = statistics.fmean(measure(seeds, iterations, budget, c, ("mcts",), workers)["mcts"])
        print(f"c={c}: mcts mean {mean:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=0, help="landscapes first-seed .. first-seed + seeds - 1")
    parser.add_argument(
        "--methods", default=",".join((*POLICIES, *FLAT)), help="comma-separated subset (default: every method)"
    )
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--budget", choices=("configs", "compute"), default="configs")
    parser.add_argument("--c", type=float, default=None, help="MCTS exploration constant (default: trex's default)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--tune", action="store_true", help="measure the variants on tuning seeds and exit")
    parser.add_argument("--variants", default="", help="with --tune: only these (comma-separated) against mcts")
    parser.add_argument(
        "--calibrated", default=None, metavar="FILE:TASK",
        help="every seed on one landscape: TASK's fit in FILE (benchmarks/calibrate_sim.py --json > FILE)",
    )  # fmt: skip
    args = parser.parse_args()
    fit = None
    if args.calibrated:
        path, _, name = args.calibrated.rpartition(":")
        fit = json.loads(Path(path).read_text()).get(name)
        if not fit or not fit.get("fitted"):
            parser.error(f"--calibrated: no fitted task {name!r} in {path}")
    if args.tune:
        tune(args.iterations, args.seeds, args.budget, args.workers, tuple(v for v in args.variants.split(",") if v))
        return
    from trex.task.spec import TaskSpec

    c = args.c if args.c is not None else TaskSpec.model_fields["exploration_c"].default
    if args.first_seed + args.seeds > TUNING_SEED_OFFSET:
        parser.error(f"reported seeds stay below {TUNING_SEED_OFFSET} (the tuning seeds)")
    methods = tuple(m for m in args.methods.split(",") if m)
    unknown = [m for m in methods if m not in (*POLICIES, *FLAT)]
    if unknown:
        parser.error(f"unknown method(s) {unknown}: choose from {', '.join((*POLICIES, *FLAT))}")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    table = compare(seeds, args.iterations, args.budget, c, args.workers, methods, fit)
    if args.json:
        print(json.dumps(table))
        return
    print(f"{args.seeds} landscapes, {args.iterations} iterations, budget {args.budget}, 3-5 configs per plan, c={c}")
    print(f"{'method':14} {'mean':>7} {'median':>7} {'std':>7} {'reach90':>8}")
    for method, row in table.items():
        print(f"{method:14} {row['mean']:7.3f} {row['median']:7.3f} {row['std']:7.3f} {row['reach90']:8.3f}")
    print(f"trex - tpe: {table['trex'].get('diff_vs_tpe_ci95')}; mcts - others: {table['mcts'].get('diff_ci95')}")


if __name__ == "__main__":
    main()
