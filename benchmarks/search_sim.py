"""Compare search policies on simulated fine-tuning landscapes: mcts, gbfs, ses, random and Optuna's TPE.

Every policy gets the same landscapes (seeds 0..N-1), the same number of evaluated configs
(``iterations`` nodes x k configs, k = 3..5 by landscape) and the same simulated researcher;
TPE searches the same four levers directly. The score of a run is the true score of the config
with the best observed (noisy) validation score, as a fraction of the landscape's optimum.
Prints per policy the mean, median, standard deviation across seeds, and the fraction of runs
reaching 90% of the optimum.

    .venv/bin/python benchmarks/search_sim.py --seeds 200 [--json] [--c 1.41]
    .venv/bin/python benchmarks/search_sim.py --tune   # choose c on seeds 10000+, never the reported ones

TPE needs optuna (``pip install -e '.[bench]'``); without it the table omits ``tpe``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics

from trex.search.simulator import Landscape, SimConfig, simulate_tree

POLICIES = ("mcts", "gbfs", "ses", "random")
TUNING_SEED_OFFSET = 10_000


def configs_per_plan(seed: int) -> int:
    return 3 + seed % 3


def run_tpe(landscape: Landscape, budget: int, seed: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = random.Random(seed)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    best_obs, best_true = -1.0, 0.0
    for _ in range(budget):
        trial = study.ask()
        cfg = SimConfig(
            data_level=trial.suggest_int("data_level", 0, 4),
            synth_ratio=trial.suggest_float("synth_ratio", 0.0, 1.0),
            log_lr=trial.suggest_float("log_lr", -6.5, -2.0),
            full=trial.suggest_categorical("full", [False, True]),
            epochs=trial.suggest_float("epochs", 0.5, 5.0),
        )
        score = landscape.evaluate(cfg, rng)
        if score is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        study.tell(trial, score)
        if score > best_obs:
            best_obs, best_true = score, landscape.true_score(cfg)
    return best_true


def summarize(fractions: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(fractions),
        "median": statistics.median(fractions),
        "std": statistics.pstdev(fractions),
        "reach90": sum(f >= 0.9 for f in fractions) / len(fractions),
    }


def compare(seeds: list[int], iterations: int, c: float, with_tpe: bool) -> dict[str, dict[str, float]]:
    fractions: dict[str, list[float]] = {p: [] for p in (*POLICIES, *(("tpe",) if with_tpe else ()))}
    for seed in seeds:
        landscape = Landscape(seed)
        optimum = landscape.optimum()
        k = configs_per_plan(seed)
        for policy in POLICIES:
            result = simulate_tree(landscape, policy, iterations, k, seed, c=c)
            fractions[policy].append(result.best_true / optimum)
        if with_tpe:
            fractions["tpe"].append(run_tpe(landscape, iterations * k, seed) / optimum)
    return {policy: summarize(values) for policy, values in fractions.items()}


def tune(iterations: int, n: int) -> float:
    """The exploration constant with the best MCTS mean on tuning seeds (disjoint from reported seeds)."""
    seeds = list(range(TUNING_SEED_OFFSET, TUNING_SEED_OFFSET + n))
    scores = {}
    for c in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.41, 2.0):
        scores[c] = compare(seeds, iterations, c, with_tpe=False)["mcts"]["mean"]
        print(f"c={c}: mcts mean {scores[c]:.4f}")
    return max(scores, key=scores.get)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--c", type=float, default=None, help="MCTS exploration constant (default: trex's default)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--tune", action="store_true", help="choose c on tuning seeds and exit")
    args = parser.parse_args()
    if args.tune:
        print(f"best c on tuning seeds: {tune(args.iterations, args.seeds)}")
        return
    try:
        import optuna  # noqa: F401

        with_tpe = True
    except ImportError:
        with_tpe = False
    from trex.task import TaskSpec

    c = args.c if args.c is not None else TaskSpec.model_fields["exploration_c"].default
    table = compare(list(range(args.seeds)), args.iterations, c, with_tpe)
    if args.json:
        print(json.dumps(table))
        return
    print(f"{args.seeds} landscapes, {args.iterations} iterations, 3-5 configs per plan, c={c}")
    print(f"{'policy':8} {'mean':>7} {'median':>7} {'std':>7} {'reach90':>8}")
    for policy, row in table.items():
        print(f"{policy:8} {row['mean']:7.3f} {row['median']:7.3f} {row['std']:7.3f} {row['reach90']:8.3f}")


if __name__ == "__main__":
    main()
