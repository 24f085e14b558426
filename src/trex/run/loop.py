"""The search loop: select nodes, plan them, run their jobs, diagnose, backpropagate, persist, report.

``SearchLoop.run`` grows the tree until a limit of ``trex.run.budget`` is reached (nodes, the root
baseline included and the nodes in flight counted; wall clock; GPU-hours; LLM USD) or no node is
expandable, and returns why it stopped and which limit stopped it (limits: the task file, then ``RunOptions``).

Several nodes in flight: by default the loop starts a node whenever fewer jobs are in flight than
the scheduler has slots (ceil(slots / configs per node) nodes while they are fresh, one more as soon
as a node's early jobs free their slots; 1 at a time on a one-slot machine); ``--parallel-nodes P``
fixes the number of nodes in flight instead. A node is selected and planned the moment a place frees up, with the
tree as it stands: the pending nodes count through a virtual visit (``trex.search.virtual_loss``) and appear in
the memory context as ``running: <plan>``.
A child plan's new directions (a scheme switch, a learning-rate jump beyond half a decade, a structurally new
recipe) run first as cheap probes and go on to full length when ASHA's rule promotes them
(``trex.agents.probes``); a node is settled once its repairs and promotions have run.
Jobs are recorded as they finish, whichever node they belong to; a node whose jobs are all done
gets its repair rounds (``trex.run.node_end``), then its verdict and backpropagation. With P = 1 the
loop is the sequential one, node after node: the same seeded choices, the same tree.

Budgets (``trex.run.budget``): wall clock and GPU-hours count every running job; no node starts that the budget
left cannot finish; the last node a wall clock pays for continues the best config for the time left
(``final_run``, never shorter than what moves the score); a wall clock too small for a search gets learning-rate
probes, then one long run (``trex.run.continuation``), or else one run per slot (``one_run``, timed by
``trex.run.calibration``); every job's training ends early enough for the job and the best node's test scoring to
finish before the limit (``train_deadline``). Jobs still running at the limit get the grace period, then are
cancelled; their nodes stay unfinished for a resume.

Every step is durable: a node is stored with its plan and jobs before any job runs, each job's result is committed
as it finishes, and a node's outcome commits together with the backpropagation along its path. ``run`` on a
workspace that holds a stopped or killed run therefore resumes it: every unfinished node is completed first
(finished jobs are reused by content hash, none runs twice at once), then the search goes on. Selection randomness
is seeded by (seed, node count), so a resumed sequential run makes the same choices as one never interrupted.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from trex.agents.choice import make_researcher
from trex.agents.history import node_intervals
from trex.agents.probes import mark_probes
from trex.agents.researcher import Researcher
from trex.agents.root_probes import is_probe_root
from trex.plan import BudgetLeft, Plan
from trex.run.budget import (
    TimedRun,
    Usage,
    after_train_s,
    cannot_finish,
    exhausted,
    final_run,
    job_deadline,
    read_usage,
    search_seconds,
    train_deadline,
    wall_left_s,
)
from trex.run.calibration import calibration_plan, one_run_root
from trex.run.continuation import after_probes, next_probe_node, worth_continuing
from trex.run.costs import job_estimate, step_cost
from trex.run.executor import Executor, plan_jobs
from trex.run.node_end import NodeCompletion, plan_context
from trex.run.options import RunOptions, RunSummary, default_parallel_nodes, summarize
from trex.run.steering import steered
from trex.run.tracking import make_tracker
from trex.runtime import Scheduler, make_scheduler
from trex.runtime.job import Job
from trex.search.memory import memory_context
from trex.search.policies import expandable, make_policy, measured_floor
from trex.search.tree import RUNNING, Tree
from trex.search.virtual_loss import with_virtual_loss
from trex.store import Store
from trex.task.spec import TaskSpec

Stop = tuple[str | None, str]  # (limit name or None, sentence)


class SearchLoop:
    def __init__(
        self,
        store: Store,
        task: TaskSpec,
        options: RunOptions,
        scheduler: Scheduler | None = None,
        researcher: Researcher | None = None,
        listener: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.task = task = options.apply_limits(task)
        self.options = options
        timeout_s = task.limits.job_timeout_minutes * 60
        scheduler = scheduler or make_scheduler(
            options.scheduler,
            timeout_s,
            ray_address=options.ray_address,
            slurm_folder=str(store.workspace / "slurm"),
            slurm_partition=options.slurm_partition,
            workspace=store.workspace,
        )
        tracker = make_tracker(options.track, task.name, store.workspace) if options.track else None
        self.executor = Executor(store, scheduler, tracker, options.eval_backend, task)
        self.researcher = researcher or make_researcher(task, options, store)
        self.say = listener or (lambda message: None)
        self.parallel_nodes = options.parallel_nodes or default_parallel_nodes(
            scheduler.slots, task.limits.configs_per_plan
        )
        self.completion = NodeCompletion(store, task, self.researcher, options.seed, lambda m: self.say(m))
        self.running: dict[int, str] = {}  # nodes in flight -> their plan in a line
        self._session_start, self._elapsed_before = time.time(), 0.0

    # budget ---------------------------------------------------------------------------------
    def usage(self, nodes: int) -> Usage:
        return read_usage(
            self.store, nodes, self._session_start, self._elapsed_before, self.executor.running_gpu_seconds()
        )

    def _deadline(self, jobs_in_flight: int) -> float | None:
        gpus = self.executor.scheduler.gpus_in_use(jobs_in_flight)
        return job_deadline(self.task.limits, self.usage(0), gpus)

    def _train_by(self, jobs_in_flight: int) -> float | None:
        gpus = self.executor.scheduler.gpus_in_use(jobs_in_flight)
        return train_deadline(self.task.limits, self.usage(0), gpus, step_cost(self.store))

    def _submit(self, node_id: int) -> None:
        self.executor.start_node(node_id, self._deadline, self._train_by, after_train_s(step_cost(self.store)))

    # steps ----------------------------------------------------------------------------------
    def _store_node(self, parent: int | None, depth: int, plan: Plan, jobs: list[tuple[str, Job]]) -> int:
        specs = [(job.content_hash(), job.model_dump_json(), name) for name, job in jobs]
        node_id = self.store.add_node(parent, depth, plan.strategy, plan.model_dump_json(), specs)
        self.say(f"node {node_id}: {plan.strategy}: {plan.change} ({len(plan.configs)} configs)")
        return node_id

    def _create_root(self) -> int:
        seed, calibrate = self.options.seed, calibration_plan(self.task, self.options.seed)
        run = one_run_root(self.store, self.executor, self.task, seed, calibrate, lambda: self.usage(0), self.say)
        plan = self.researcher.root_plan(run, self.executor.scheduler.slots)
        jobs = plan_jobs(self.task, plan, seed, with_baseline=True, calibrate=calibrate)
        return self._store_node(None, 0, plan, jobs)

    def _create_child(self, tree: Tree, last: TimedRun | None = None) -> int | None:
        shadow = with_virtual_loss(tree, self.running, self.running)
        candidates = steered(self.store, tree, expandable(shadow, self.task.limits.max_children))  # pins, prunes
        if not candidates:
            return None
        best = tree.best()
        intervals = node_intervals(self.store, tree)
        floor = measured_floor(best, intervals, self.task.normalize)
        if last and best is not None and best.id in {c.id for c in candidates}:  # the last node exploits
            node_id, policy, scores = best.id, "last-node-best", {str(best.id): best.val_score}
        else:
            rng = random.Random(f"{self.options.seed}:{len(tree)}")
            chooser = make_policy(self.options.policy, self.task.exploration_c, floor)
            selection = chooser.select(shadow, candidates, rng)
            node_id, policy = selection.node_id, selection.policy
            scores = {str(k): (v if v != float("inf") else "inf") for k, v in selection.scores.items()}
        pending = sorted(self.running)
        self.store.event("selection", node_id, policy=policy, scores=scores, pending=pending, floor=round(floor, 6))
        memory = memory_context(shadow, node_id, self.options.memory_tokens, intervals)
        node_seed = self.options.seed * 100_003 + len(tree)
        budget = self._budget_left(len(tree)).model_copy(update={"final": last})
        finished = self.completion.finished_jobs
        context = plan_context(self.store, tree, node_id, memory, node_seed, budget, finished)
        plan = mark_probes(self.researcher.plan(context), context.parent.best())
        jobs = plan_jobs(self.task, plan, self.options.seed, with_baseline=False)
        return self._store_node(node_id, context.parent.depth + 1, plan, jobs)

    def _budget_left(self, nodes: int) -> BudgetLeft:
        limits, target = self.task.limits, self.options.iterations or self.task.limits.max_iterations
        usage, estimate = self.usage(nodes), job_estimate(self.store)
        wall = wall_left_s(limits, usage)
        cost, slots = step_cost(self.store), self.executor.scheduler.slots
        return BudgetLeft(
            nodes=target - nodes,
            seconds=wall,
            slots=slots,
            step_s=cost.step_s if cost else None,
            step_rows=(cost.rows_per_step or None) if cost else None,
            job_fixed_s=cost.fixed_s if cost else None,
            job_timeout_s=limits.job_timeout_minutes * 60,
            search_s=search_seconds(limits, usage, estimate, limits.configs_per_plan, slots),
        )

    def _affords(self, steps: int) -> bool:
        """Whether the wall clock left pays for one more job of ``steps`` steps at the measured cost."""
        left = self._budget_left(0)
        if left.seconds is None or left.step_s is None:
            return True
        return left.seconds >= (left.job_fixed_s or 0.0) + steps * left.step_s

    def _start(self, node_id: int) -> None:
        plan = self.store.node_plan(node_id)
        self.running[node_id] = f"{plan.strategy}: {plan.change}"
        self._submit(node_id)

    def _fill(self, target: int) -> Stop | None:
        """Start nodes until P are in flight; a reason to stop when no more may ever start."""
        limits = self.task.limits
        while self._room():
            tree = self.store.load_tree()
            usage = self.usage(len(tree))
            reached = exhausted(limits, usage, target)
            if reached is not None:
                return reached
            in_flight, slots = len(self.executor.in_flight), self.executor.scheduler.slots
            estimate, configs = job_estimate(self.store), limits.configs_per_plan
            last = final_run(limits, usage, estimate, step_cost(self.store), configs, slots, in_flight)
            last = last or after_probes(self.store, tree, self.task, usage)  # the long run follows the probes
            if last is not None and (floor := worth_continuing(self.store, tree, last)) is not None:
                return (
                    "wall_clock_minutes",
                    f"the time left pays for {last.paced_steps} steps, fewer than the {floor} that can move the score",
                )
            short = cannot_finish(limits, usage, estimate, configs, in_flight, slots)
            if short is not None and last is None:
                return short if not self.running else None
            if tree.root is None:
                node_id = self._create_root()
            elif tree.root.status == RUNNING:
                return None  # children need the root's result
            elif (probe := next_probe_node(self.store, tree)) is not None:  # the root planned it
                jobs = plan_jobs(self.task, probe, self.options.seed, with_baseline=False)
                node_id = self._store_node(tree.root.id, 1, probe, jobs)
            else:
                node_id = self._create_child(tree, last)
                if node_id is None:
                    return (None, "no expandable node left") if not self.running else None
            self._start(node_id)
        return None

    def _room(self) -> bool:
        """Whether another node may start: P nodes fixed, or (default) fewer jobs in flight than slots."""
        if self.options.parallel_nodes is not None:
            return len(self.running) < self.options.parallel_nodes
        slots = self.executor.scheduler.slots
        return len(self.executor.in_flight) < slots and len(self.running) < slots

    def _settle(self, node_id: int) -> bool:
        """A node with nothing in flight: repair it, or finish it. False when the budget cancelled its jobs."""
        results = [(s.name, s.result) for s in self.store.jobs_of(node_id)]
        if any(result is None for _, result in results):
            self.running.pop(node_id, None)
            self.say(f"node {node_id}: jobs cancelled by the budget; the node is left for a resume")
            return False
        if self.completion.repair(node_id, results) or self.completion.promote(node_id, self._affords):  # type: ignore[arg-type]
            self._submit(node_id)
            return True
        self.completion.finish(self.store.load_tree(), node_id, results)  # type: ignore[arg-type]
        self.running.pop(node_id, None)
        self._score_best_test()
        return True

    def _score_best_test(self, end: bool = False) -> None:
        """The test split is scored for the run's best node only, in a worker of its own, with nothing in flight (the
        end of the run scores what had to wait); a failure is recorded once, not retried here. Agents never see it."""
        if self.executor.in_flight:
            return
        best = self.store.load_tree().best()
        if best is None or best.test_score is not None or (is_probe_root(self.store.node_plan(best.id)) and not end):
            return  # a probe is not the run's result: its long run is about to start
        if (job := self.store.node_row(best.id)["best_job"]) not in self.executor.test_failures:
            self.say(f"node {best.id} is the run's best: scoring its test split")
            self.executor.score_test(job)

    def run(self, on_iteration: Callable[[], None] | None = None) -> RunSummary:
        limits = self.task.limits
        target = self.options.iterations or limits.max_iterations
        self._session_start, self._elapsed_before = time.time(), float(self.store.get_meta("elapsed_s", 0.0))
        self.say(f"{self.parallel_nodes} node(s) in flight at most on {self.executor.scheduler.slots} slot(s)")
        unfinished = [n.id for n in self.store.load_tree().nodes.values() if n.status == RUNNING]
        for node_id in unfinished:  # a resume completes every unfinished node before it plans a new one
            self.say(f"node {node_id}: resuming")
            self._start(node_id)
        stop: Stop | None = None
        cancelled = False
        while True:
            if stop is None and not cancelled and not set(unfinished) & set(self.running):
                stop = self._fill(target)
            if not self.running:
                break
            for node_id in self.executor.poll(timeout=1.0):
                if not self._settle(node_id):
                    cancelled = True
                elif node_id not in self.running:  # finished
                    self.store.set_meta("elapsed_s", self.usage(0).wall_s)
                    if on_iteration is not None:
                        on_iteration()
        stopped_by, stop_reason = stop or (None, "no expandable node left")
        if cancelled:
            reached = exhausted(limits, self.usage(len(self.store.load_tree())))
            stopped_by, stop_reason = reached or ("budget", "the budget ran out while jobs ran")
            stop_reason += f"; jobs cancelled after the {limits.grace_minutes:g}-minute grace period"
        self._score_best_test(end=True)
        self.store.set_meta("elapsed_s", self.usage(0).wall_s)
        self.store.set_meta("stopped", {"reason": stop_reason, "limit": stopped_by})
        self.store.event("run_stopped", None, reason=stop_reason, limit=stopped_by)
        return summarize(self.store, stop_reason, stopped_by)
