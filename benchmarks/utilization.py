"""How busy trex keeps G GPUs: the real loop with sleeping jobs through Ray, one node at a time against P nodes.

    .venv/bin/python benchmarks/utilization.py --gpus 8 --configs 3 --nodes 40 --json

Part 1 (through Ray): ``ray.init(num_gpus=G)`` hands out G logical GPUs on this CPU machine. The
real ``SearchLoop`` (heuristic researcher, MCTS with virtual visits, store, budgets) runs on a Ray
scheduler whose tasks hold one GPU each and only sleep. A job's duration and validation score come
from a landscape of ``benchmarks/simulator.py``: its learning rate, steps, scheme and data cleaning
become a ``SimConfig``; the duration is its own training steps / 400 x ``--unit-s`` x U(0.5, 1.5)
(real jobs spread about +-50%); the score is the landscape's noisy evaluation. Utilization is the
busy GPU-seconds (measured inside the tasks) / (G x wall), wall from the loop's start to its end.
``sim_score`` is the true score of the best node's best job as a fraction of the landscape's
optimum. Runs ``--parallel-nodes 1`` and the default (ceil(G / K)). The tasks go through the Ray
scheduler's own task options (``RayScheduler.task_options``: one GPU, reused Ray workers).

Why a 400-step job sleeps 1.5 s (``--unit-s``): the figure is the share of GPU time the loop loses
between jobs, so what matters is a job's length against the loop's own work per node (select, plan
with the surrogate, commit to the store, submit through Ray). With the heuristic researcher that work
is about 0.05 s a node on this 2-core VM (``--unit-s 0``: 40 nodes in 2.1 s at P=1). Real fine-tuning
jobs take minutes, so there the loop is under 1/1000 of a job; an LLM researcher plans for 5-30 s a
node against jobs of 5-10 minutes, 1/10 to 1/120. A 1.5-s unit puts the loop at about 1/30 of a
400-step job, inside the LLM researcher's range and far harder than the heuristic's, so the default's
utilization here is a lower bound for heuristic runs; and the benchmark stays short (P=1 takes the
longest: about 2.5 minutes at G=8, N=40).

Part 2 (``--seeds S``, e.g. 100; no Ray; minutes, as the equal-wall runs grow large trees) is a model of the
loop, not the loop: ``simulate_parallel`` re-implements its rules for nodes in flight (the default's room test,
virtual visits, pending proposals) in a few lines, so its quality figures hold only as far as that copy agrees
with ``trex.run.loop``; a change to the loop's rules must be made here too. Search
quality over S landscapes with the simulator's
researcher (surrogate, local moves, warm starts, probes), MCTS with the same virtual visits
(``--virtual-value``: the loop's rule by default), and a discrete-event clock with G slots and the same
duration spread. As in the loop, each job's result reaches the surrogate when the job ends, and the
jobs still in flight are pending trials of its constant liar. At equal nodes (N each) and at
equal wall (the default gets P=1's wall for N nodes), the mean fraction of the optimum, and the
95% interval of the paired difference (default - P=1).

``--tradeoff 0 3 4 --seeds S [--first-seed F]`` runs only the discrete-event part for the rules given
(0: the default; P: at most P nodes in flight): the equal-node difference with P=1 and the busy share of
the slots, per rule (no Ray).

Prints a JSON list of runs ``{"gpus", "configs", "parallel_nodes", "utilization", "wall_s",
"nodes_per_hour", "sim_score"}`` (``--json``; the quality figures go to stderr, or to ``--quality
FILE`` as JSON), or a table.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from simulator import MIN_STEPS, ROOT_STEPS, SPACE, STRATEGIES, Landscape, Ledger, Move, Researcher, SimConfig
from simulator import root_configs as sim_root_configs

from trex.evaluation.intervals import Score
from trex.evaluation.run import SplitResult
from trex.run.options import RunOptions, default_parallel_nodes
from trex.runtime.job import Job, JobRequest, JobResult
from trex.runtime.ray import RayScheduler
from trex.search.policies import DEFAULT_C, backpropagate, expandable, make_policy
from trex.search.surrogate import Surrogate
from trex.search.tree import DONE, FAILED, RUNNING, Node, Tree
from trex.search.virtual_loss import RULES, VIRTUAL_VALUE, with_virtual_loss
from trex.train.common import TrainLog

TINY_TASK = Path(__file__).resolve().parents[1] / "examples" / "tasks" / "tiny.yaml"


# --- part 1: the real loop through Ray -------------------------------------------------------------
def sim_config(job: Job, seen: dict[str, Job], landscape: Landscape) -> tuple[SimConfig, int]:
    """(the landscape config a job reaches, the steps it trains itself): a warm start adds its source's steps."""
    train = job.train
    if train is None:
        return SimConfig(steps=MIN_STEPS), 0
    steps, source = train.max_steps, seen.get(train.init_from_job or "")
    if source is not None:
        steps = landscape.warm(sim_config(source, seen, landscape)[0].steps, train.max_steps)
    ops = [s.op for s in job.recipe.steps] if job.recipe else []
    cleaning = sum(op in ("filter", "dedup", "decontaminate", "quality_filter", "length_filter") for op in ops)
    cfg = SimConfig(
        data_level=min(4, max(0, cleaning)),
        synth_ratio=0.3 if any("synth" in op or "generate" in op for op in ops) else 0.0,
        log_lr=math.log10(train.learning_rate),
        steps=steps,
        full=not train.lora,
    )
    return cfg.clipped(), train.max_steps


def _sleep(seconds: float) -> tuple[float, float, str]:
    import os

    start = time.time()
    time.sleep(seconds)
    return start, time.time(), os.environ.get("CUDA_VISIBLE_DEVICES", "")


class SleepScheduler(RayScheduler):
    """Ray tasks holding one GPU each that sleep as long as the landscape says the job trains."""

    def __init__(self, landscape: Landscape, unit_s: float, seed: int) -> None:
        super().__init__(timeout_s=3600)
        import ray

        self.landscape, self.unit_s = landscape, unit_s
        self.rng, self.lock = random.Random(seed), threading.Lock()
        self.seen: dict[str, Job] = {}
        self.busy: list[tuple[float, float, str]] = []
        self._sleep = ray.remote(**self.task_options)(_sleep)  # the real scheduler's task options

    def execute(self, request: JobRequest, deadline: float | None) -> JobResult:
        job = request.job
        with self.lock:
            self.seen[job.content_hash()] = job
            cfg, own = sim_config(job, self.seen, self.landscape)
            score = self.landscape.evaluate(cfg, self.rng) if job.train else self.landscape.base
            seconds = max(own, MIN_STEPS) / ROOT_STEPS * self.unit_s * self.rng.uniform(0.5, 1.5)
        start, end, gpu = self._ray.get(self._sleep.remote(seconds))
        with self.lock:
            self.busy.append((start, end, gpu))
        return canned(job, score, end - start, gpu)


def canned(job: Job, score: float | None, seconds: float, gpu: str) -> JobResult:
    if score is None:
        return JobResult.failure(job.content_hash(), "diverged (simulated)", "exception", seconds)
    value = Score(value=score, low=score - 0.02, high=score + 0.02, n=500)
    steps = job.train.max_steps if job.train else 0
    log = TrainLog(steps=steps, losses=[(1, 2.0), (steps, 1.0)], train_rows=1000, seconds=seconds, trainable_params=1)
    return JobResult(
        job_hash=job.content_hash(),
        status="ok",
        validation=SplitResult(split="validation", score=value),
        test=SplitResult(split="test", score=value),
        train=log if job.train else None,
        seconds=seconds,
        gpus=1,
        gpu_ids=gpu,
    )


def loop_run(gpus: int, configs: int, nodes: int, parallel: int | None, unit_s: float, seed: int) -> dict:
    from trex.run.loop import SearchLoop
    from trex.store import Store
    from trex.task.spec import load_task

    task = load_task(TINY_TASK)
    training = task.training.model_copy(update={"learning_rate": 1e-4, "max_steps": ROOT_STEPS})
    limits = task.limits.model_copy(update={"configs_per_plan": configs, "max_iterations": nodes})
    task = task.model_copy(update={"training": training, "limits": limits})
    landscape = Landscape(seed)
    scheduler = SleepScheduler(landscape, unit_s, seed)
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "ws")
        options = RunOptions(iterations=nodes, seed=seed, parallel_nodes=parallel)
        loop = SearchLoop(store, task, options, scheduler=scheduler)
        start = time.time()
        loop.run()
        wall = time.time() - start
        tree = store.load_tree()
        best = tree.best()
        best_job = store.node_row(best.id)["best_job"] if best else None
        score = 0.0
        if best_job:
            cfg, _ = sim_config(store.job(best_job).job, scheduler.seen, landscape)
            score = landscape.true_score(cfg) / landscape.optimum()
        done = sum(n.status != RUNNING for n in tree.nodes.values())
        store.close()
    busy = sum(end - start_ for start_, end, _ in scheduler.busy)
    return {
        "gpus": gpus,
        "configs": configs,
        "parallel_nodes": loop.parallel_nodes,
        "utilization": round(busy / (gpus * wall), 4),
        "wall_s": round(wall, 2),
        "nodes_per_hour": round(done / wall * 3600, 1),
        "sim_score": round(score, 4),
    }


# --- part 2: search quality on the simulator, no Ray -------------------------------------------------
def simulate_parallel(
    seed: int,
    k: int,
    slots: int,
    parallel: int | None,
    max_nodes: int,
    max_wall: float = math.inf,
    liar: bool = True,
    cap: int | None = None,
    vl: str = VIRTUAL_VALUE,
) -> tuple[float, float, int, float]:
    """Grow a tree with P nodes in flight on a discrete-event clock: (fraction of the optimum, wall, nodes, busy
    slot-time of the finished nodes). As in the loop, a job's result is told to the surrogate when the job ends,
    whichever node it belongs to; a node gets its verdict when its last job ends. ``liar``: every job in flight
    stays pending in the surrogate (a RUNNING trial the constant liar counts as bad) until it ends, as the loop's
    plan context holds the unfinished jobs of the nodes in flight. ``vl``: the virtual-visit rule of selection
    (``trex.search.virtual_loss``)."""
    landscape = Landscape(seed)
    rng, clock_rng = random.Random(seed), random.Random(seed + 1)
    policy = make_policy("mcts", DEFAULT_C, floor=landscape.noise_sd)
    researcher = Researcher(landscape, Surrogate(SPACE, seed), rng)
    surrogate = researcher.surrogate
    ledger = Ledger(landscape, rng, "configs", 10**9, 10**12)
    tree, best_cfg, tried = Tree(), {}, {}
    free = [0.0] * slots
    events: list[tuple[float, int, int]] = []  # (time, node, move): the loop wakes at every job end
    moves_of: dict[int, list[Move]] = {}  # node in flight -> its moves
    results_of: dict[int, list[tuple[float | None, SimConfig, bool]]] = {}
    left: dict[int, int] = {}  # node in flight -> its jobs still running
    held: dict[tuple[int, int], list[int]] = {}  # (node, move) in flight -> its pending surrogate trials
    ends: list[float] = []  # end times of the jobs submitted so far

    def room() -> bool:  # the loop's rule: P nodes, or (default) fewer unfinished jobs than slots
        if parallel is not None:
            return len(moves_of) < parallel
        return sum(e > now for e in ends) < slots and (cap is None or len(moves_of) < cap)

    now, done, wall, busy = 0.0, 0, 0.0, 0.0
    busy_of: dict[int, float] = {}
    while True:
        while room() and len(tree) < max_nodes and (len(tree) == 0 or tree.root.status != RUNNING):
            node_id = len(tree) + 1
            proposed: list[int] = []
            if node_id == 1:
                parent, strategy, moves = None, "establish_baseline", [Move(c) for c in sim_root_configs(k)]
            else:
                shadow = with_virtual_loss(tree, moves_of, rule=vl)
                candidates = expandable(shadow, 4)
                if not candidates:
                    break
                parent = policy.select(shadow, candidates, rng).node_id
                options = [s for s in STRATEGIES if s not in tried.setdefault(parent, [])] or list(STRATEGIES)
                strategy = rng.choice(options)
                tried[parent].append(strategy)
                in_flight = [m.cfg for n, ms in moves_of.items() if tree.nodes[n].parent == parent for m in ms]
                taken = in_flight or None  # siblings in flight: spread over the parent's moves
                moves = researcher.plan(strategy, best_cfg[parent], k, hold=proposed if liar else None, taken=taken)
            busy_of[node_id] = 0.0
            for index, move in enumerate(moves):
                own = move.cfg.steps - round(landscape.warm_keep * move.parent_steps) if move.parent_steps else 0
                own = move.cfg.steps // 3 if move.probe else max(MIN_STEPS, own or move.cfg.steps)
                if liar:  # the proposals asked for this plan come first, in order; the other moves are held here
                    cfg = replace(move.cfg, steps=own) if move.probe else move.cfg
                    mine = proposed[index : index + 1] or [surrogate.hold(cfg.params(), cfg.steps)]
                    held[(node_id, index)] = mine
                start = max(now, heapq.heappop(free))
                end = start + own / ROOT_STEPS * clock_rng.uniform(0.5, 1.5)
                busy_of[node_id] += end - start
                ends.append(end)
                heapq.heappush(events, (end, node_id, index))
                heapq.heappush(free, end)
            depth = 0 if parent is None else tree.nodes[parent].depth + 1
            tree.add(Node(node_id, parent, depth, strategy))
            moves_of[node_id], results_of[node_id], left[node_id] = moves, [], len(moves)
        if not events:
            break
        now, node_id, index = heapq.heappop(events)
        if now > max_wall:
            break
        surrogate.release(held.pop((node_id, index), []))  # its observation replaces the pending trial
        result = researcher.execute(moves_of[node_id][index], ledger)
        if result is not None:
            results_of[node_id].append(result)
        left[node_id] -= 1
        if left[node_id]:
            continue
        del moves_of[node_id], left[node_id]
        node = tree.nodes[node_id]
        ok = [(s, cfg, full) for s, cfg, full in results_of.pop(node_id) if s is not None]
        if ok:
            score, cfg, _ = max(ok, key=lambda item: (item[2], item[0]))
            node.status, node.val_score, node.reward = DONE, score, score
            best_cfg[node_id] = cfg
        else:
            node.status, node.reward = FAILED, 0.0
        backpropagate(tree, node_id, node.reward or 0.0)
        done, wall, busy = done + 1, now, busy + busy_of[node_id]
    return ledger.best_true / landscape.optimum(), wall, done, busy


def ci95(diffs: list[float]) -> list[float]:
    half = 1.96 * statistics.stdev(diffs) / math.sqrt(len(diffs))
    return [round(statistics.fmean(diffs) - half, 4), round(statistics.fmean(diffs) + half, 4)]


def quality(gpus: int, k: int, nodes: int, seeds: int, liar: bool = True, vl: str = VIRTUAL_VALUE) -> dict:
    parallel = None  # the loop's default: a node starts whenever fewer jobs than slots are in flight
    one, same_nodes, same_wall, walls = [], [], [], []
    for seed in range(seeds):
        score, wall, *_ = simulate_parallel(seed, k, gpus, 1, nodes, liar=liar, vl=vl)
        one.append(score)
        score_p, wall_p, *_ = simulate_parallel(seed, k, gpus, parallel, nodes, liar=liar, vl=vl)
        same_nodes.append(score_p)
        same_wall.append(simulate_parallel(seed, k, gpus, parallel, 10**6, max_wall=wall, liar=liar, vl=vl)[0])
        walls.append(wall_p / wall)
    return {
        "gpus": gpus,
        "configs": k,
        "nodes": nodes,
        "seeds": seeds,
        "pending_liar": liar,
        "virtual_value": vl,
        "parallel_nodes": f"default (~{default_parallel_nodes(gpus, k)})",
        "p1_mean": round(statistics.fmean(one), 4),
        "equal_nodes_mean": round(statistics.fmean(same_nodes), 4),
        "equal_nodes_diff_ci95": ci95([b - a for a, b in zip(one, same_nodes, strict=True)]),
        "equal_wall_mean": round(statistics.fmean(same_wall), 4),
        "equal_wall_diff_ci95": ci95([b - a for a, b in zip(one, same_wall, strict=True)]),
        "wall_ratio_at_equal_nodes": round(statistics.fmean(walls), 3),
    }


def tradeoff(
    gpus: int, k: int, nodes: int, first_seed: int, seeds: int, rules: list[int], vl: str = VIRTUAL_VALUE
) -> list[dict]:
    """Search quality at equal nodes against the busy share of the slots, per rule for the nodes in flight (0: the
    loop's default; P: P nodes at most), on the discrete-event clock: paired differences with P=1 (95% interval)
    and busy slot-time / (slots x wall) of the finished nodes."""
    seed_range = range(first_seed, first_seed + seeds)
    one = [simulate_parallel(seed, k, gpus, 1, nodes)[0] for seed in seed_range]
    rows = []
    for rule in rules:
        diffs, busy = [], []
        for seed, base in zip(seed_range, one, strict=True):
            score, wall, _, held = simulate_parallel(seed, k, gpus, rule or None, nodes, vl=vl)
            diffs.append(score - base)
            busy.append(held / (gpus * wall))
        row = {"rule": rule or "default", "virtual_value": vl, "seeds": [first_seed, first_seed + seeds]}
        row.update(p1_mean=round(statistics.fmean(one), 4), equal_nodes_diff=round(statistics.fmean(diffs), 4))
        row.update(equal_nodes_diff_ci95=ci95(diffs), utilization=round(statistics.fmean(busy), 3))
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--configs", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=40)
    parser.add_argument("--unit-s", type=float, default=1.5, help="seconds a 400-step job sleeps (x U(0.5, 1.5))")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--parallel", type=int, nargs="*", help="P values to run, 0: the loop's default (default: 1 and 0)"
    )
    parser.add_argument("--seeds", type=int, default=0, help="landscapes for the quality part (0: skip it)")
    parser.add_argument("--quality", type=Path, help="write the quality figures to this JSON file")
    parser.add_argument(
        "--no-liar", action="store_true", help="quality part: forget pending proposals (the rule before the liar)"
    )
    parser.add_argument(
        "--tradeoff", type=int, nargs="*", help="only the quality/utilization trade-off of these rules (0: default; "
        "P: P nodes at most) on --seeds landscapes from --first-seed, on the discrete-event clock (no Ray)"
    )  # fmt: skip
    parser.add_argument("--first-seed", type=int, default=0, help="first landscape of --tradeoff (tuning: 10000)")
    parser.add_argument(
        "--virtual-value", choices=RULES, default=VIRTUAL_VALUE, help="quality parts: the virtual-visit rule"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.tradeoff is not None:
        rows = tradeoff(
            args.gpus,
            args.configs,
            args.nodes,
            args.first_seed,
            args.seeds or 100,
            args.tradeoff or [0],
            args.virtual_value,
        )
        print(json.dumps(rows))
        return
    import ray

    ray.init(num_cpus=args.gpus, num_gpus=args.gpus, include_dashboard=False, log_to_driver=False)
    warm = ray.remote(num_gpus=1, max_calls=0)(_sleep)  # start every worker process before anything is timed
    ray.get([warm.remote(0.5) for _ in range(args.gpus)])
    runs = [
        loop_run(args.gpus, args.configs, args.nodes, p or None, args.unit_s, args.seed)
        for p in (args.parallel or [1, 0])
    ]
    ray.shutdown()
    report = (
        quality(args.gpus, args.configs, args.nodes, args.seeds, not args.no_liar, args.virtual_value)
        if args.seeds
        else None
    )
    if report is not None:
        if args.quality:
            args.quality.write_text(json.dumps(report, indent=1))
        print(json.dumps(report), file=sys.stderr)
    if args.json:
        print(json.dumps(runs))
        return
    for r in runs:
        print(
            f"G={r['gpus']} K={r['configs']} P={r['parallel_nodes']}: utilization {r['utilization']:.2f}, "
            f"wall {r['wall_s']:.0f} s, {r['nodes_per_hour']:.0f} nodes/h, sim_score {r['sim_score']:.3f}"
        )


if __name__ == "__main__":
    main()
