"""The search loop: select a node, plan, execute, diagnose, backpropagate, persist, report.

``SearchLoop.run`` grows the tree until a limit of ``trex.budget`` is reached (nodes, the root
baseline included; wall clock; GPU-hours; LLM USD) or no node is expandable, and returns why it
stopped and which limit stopped it. Limits come from the task file; the command line overrides
them (``RunOptions``). Jobs still running when the wall-clock or GPU-hour limit passes get the
task's grace period, then are cancelled; their node stays unfinished for a resume.
Every step is durable: a node is stored with its plan and jobs before any job runs, each job's
result is committed as it finishes, and a node's outcome commits together with the
backpropagation along its path. ``run`` on a workspace that holds a stopped or killed run
therefore resumes it: the unfinished node is completed first (finished jobs are reused by
content hash) and the search goes on. Selection randomness is seeded by (seed, node count), so
a resumed run makes the same choices as one that was never interrupted.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from trex.agents.heuristic import HeuristicResearcher
from trex.agents.plan import ConfigSpec, NodeRecord, Plan, Researcher
from trex.agents.random_researcher import RandomResearcher
from trex.agents.repair import MAX_REPAIR_ROUNDS
from trex.agents.verdict import diagnose_node
from trex.budget import Usage, exhausted, job_deadline, read_usage
from trex.runtime import Scheduler, make_scheduler
from trex.runtime.executor import BASELINE, Executor, config_job, outcome, plan_jobs
from trex.runtime.job import Job, JobResult
from trex.search.memory import memory_context
from trex.search.policies import backpropagate, expandable, make_policy
from trex.search.tree import DONE, FAILED, Tree
from trex.store import Store
from trex.task import TaskSpec
from trex.tracking import TrackBackend, make_tracker

REPAIR_MARK = "~repair"


class RunOptions(BaseModel):
    iterations: int | None = None
    policy: Literal["mcts", "gbfs", "ses", "random"] = "mcts"
    researcher: Literal["heuristic", "llm", "random"] = "heuristic"
    scheduler: Literal["local", "ray", "slurm"] = "local"
    seed: int = 0
    llm_model: str | None = None
    llm_base_url: str | None = None
    llm_api_key_env: str = "OPENAI_API_KEY"
    llm_price: tuple[float, float] | None = None  # USD per million prompt, completion tokens (trex.llm.pricing)
    llm_prices: str | None = None  # a prices file: model -> [prompt, completion]
    llm_tools: bool = True  # the LLM researcher may search arXiv and the Hub before choosing a strategy
    ray_address: str | None = None
    slurm_partition: str | None = None
    memory_tokens: int = 2000
    track: TrackBackend | None = None  # log every job to trackio or MLflow
    eval_backend: Literal["hf", "vllm"] = "hf"  # generate-mode evaluation through a vLLM server
    # overrides of the task file's limits (None: the task's value)
    max_train_samples: int | None = Field(default=None, ge=1)
    wall_clock_minutes: float | None = Field(default=None, gt=0)
    gpu_hours: float | None = Field(default=None, gt=0)
    llm_usd: float | None = Field(default=None, gt=0)

    def apply_limits(self, task: TaskSpec) -> TaskSpec:
        """The task with this run's limit overrides applied."""
        names = ("max_train_samples", "wall_clock_minutes", "gpu_hours", "llm_usd")
        changes = {name: getattr(self, name) for name in names if getattr(self, name) is not None}
        return task.model_copy(update={"limits": task.limits.model_copy(update=changes)}) if changes else task

    @model_validator(mode="after")
    def _llm_needs_a_model(self) -> RunOptions:
        if self.researcher == "llm" and not self.llm_model:
            raise ValueError("--researcher llm needs --llm-model (and --llm-base-url for a local server)")
        return self


class RunSummary(BaseModel):
    nodes: int
    stop_reason: str
    stopped_by: str | None = None  # the limit that stopped the run: iterations, wall_clock_minutes, ...
    best_node: int | None
    best_val: float | None
    best_test: float | None
    base_val: float | None
    base_test: float | None


Listener = Callable[[str], None]


def make_researcher(task: TaskSpec, options: RunOptions, store: Store) -> Researcher:
    if options.researcher == "llm":
        from trex.agents.researcher import LLMResearcher

        return LLMResearcher.from_options(task, options, store)
    if options.researcher == "random":
        return RandomResearcher(task, seed=options.seed)
    return HeuristicResearcher(task, seed=options.seed)


class SearchLoop:
    def __init__(
        self,
        store: Store,
        task: TaskSpec,
        options: RunOptions,
        scheduler: Scheduler | None = None,
        researcher: Researcher | None = None,
        listener: Listener | None = None,
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
        )
        tracker = make_tracker(options.track, task.name, store.workspace) if options.track else None
        self.executor = Executor(store, scheduler, tracker, options.eval_backend)
        self.researcher = researcher or make_researcher(task, options, store)
        self.policy = make_policy(options.policy, task.exploration_c)
        self.say = listener or (lambda message: None)

    # records --------------------------------------------------------------------------------
    def record(self, node_id: int) -> NodeRecord:
        row = self.store.node_row(node_id)
        outcomes = []
        for stored in self.store.jobs_of(node_id):
            if stored.result is not None and stored.name != BASELINE:
                outcomes.append(outcome(stored.name, stored.job, stored.result))
        return NodeRecord(
            id=row["id"],
            parent=row["parent"],
            depth=row["depth"],
            strategy=row["strategy"],
            status=row["status"],
            plan=Plan.model_validate_json(row["plan"]),
            outcomes=outcomes,
            val_score=row["val_score"],
            reward=row["reward"],
            summary=row["summary"],
        )

    # steps ----------------------------------------------------------------------------------
    def _create_root(self) -> int:
        plan = self.researcher.root_plan()
        jobs = plan_jobs(self.task, plan, self.options.seed, with_baseline=True)
        return self._store_node(None, 0, plan, jobs)

    def _store_node(self, parent: int | None, depth: int, plan: Plan, jobs: list[tuple[str, Job]]) -> int:
        specs = [(job.content_hash(), job.model_dump_json(), name) for name, job in jobs]
        node_id = self.store.add_node(parent, depth, plan.strategy, plan.model_dump_json(), specs)
        self.say(f"node {node_id}: {plan.strategy}: {plan.change} ({len(plan.configs)} configs)")
        return node_id

    def _create_child(self, tree: Tree) -> int | None:
        candidates = expandable(tree, self.task.limits.max_children)
        if not candidates:
            return None
        rng = random.Random(f"{self.options.seed}:{len(tree)}")
        selection = self.policy.select(tree, candidates, rng)
        scores = {str(k): (v if v != float("inf") else "inf") for k, v in selection.scores.items()}
        self.store.event("selection", selection.node_id, policy=selection.policy, scores=scores)
        parent = self.record(selection.node_id)
        grandparent = self.record(parent.parent) if parent.parent is not None else None
        siblings = [self.record(c.id) for c in tree.children(parent.id)]
        context = memory_context(tree, parent.id, self.options.memory_tokens)
        node_seed = self.options.seed * 100_003 + len(tree)
        plan = self.researcher.plan(parent, grandparent, siblings, node_seed, context=context)
        jobs = plan_jobs(self.task, plan, self.options.seed, with_baseline=False)
        return self._store_node(parent.id, parent.depth + 1, plan, jobs)

    def _repair(self, node_id: int, results: list[tuple[str, JobResult]]) -> list[tuple[str, JobResult]] | None:
        """Add a repaired job for every config whose latest attempt failed (at most MAX_REPAIR_ROUNDS per
        config, counted from the node's stored jobs, so a resumed run repairs exactly as an uninterrupted one)."""
        plan = self.store.node_plan(node_id)
        specs = {stored.name: stored.job for stored in self.store.jobs_of(node_id)}
        latest: dict[str, tuple[str, JobResult]] = {}
        for name, result in results:
            if name != BASELINE:
                latest[name.split(REPAIR_MARK)[0]] = (name, result)
        added, notes = [], []
        for base, (name, result) in latest.items():
            attempts = sum(n.split(REPAIR_MARK)[0] == base for n in specs) - 1
            if result.status == "ok" or result.error_class == "cancelled" or attempts >= MAX_REPAIR_ROUNDS:
                continue
            job = specs[name]
            config = ConfigSpec(name=name, train=job.train, recipe=job.recipe) if job.train else None
            fix = self.researcher.repair(plan, config, result.error_class, result.error or "") if config else None
            if fix is None:
                continue
            repaired, change = fix
            new_name = f"{base}{REPAIR_MARK}{attempts + 1}"
            new_job = config_job(self.task, plan, repaired.model_copy(update={"name": new_name}), self.options.seed)
            if new_job.content_hash() in {j.content_hash() for j in specs.values()}:
                continue  # the same job again would fail the same way
            added.append((new_job.content_hash(), new_job.model_dump_json(), new_name))
            notes.append(
                {"config": name, "repaired_as": new_name, "change": change, "error": (result.error or "")[:500]}
            )
            self.say(f"node {node_id}: repairing {name} ({change})")
        if not added:
            return results
        self.store.add_node_jobs(node_id, added, {"kind": "repair", "repairs": notes})
        return None

    def _execute(self, node_id: int, tree: Tree, deadline: float | None) -> bool:
        """Run and record the node (with repair rounds for failed configs); False when the budget cancelled jobs."""
        while True:
            results = self.executor.run_node(node_id, deadline)
            if results is None:
                self.say(f"node {node_id}: jobs cancelled by the budget; the node is left for a resume")
                return False
            if self._repair(node_id, results) is not None:
                break
        if tree.nodes[node_id].parent is None:
            base = next((r for name, r in results if name == BASELINE), None)
            if base is not None and base.status == "ok":
                self.store.set_meta("base", {"val": base.val_score, "test": base.test_score})
        parent_row = (
            self.store.node_row(tree.nodes[node_id].parent) if tree.nodes[node_id].parent is not None else None
        )
        verdict = diagnose_node(results, parent_row["val_score"] if parent_row else None, self.store.get_meta("base"))
        node = tree.nodes[node_id]
        node.status = DONE if verdict.best is not None else FAILED
        node.val_score, node.test_score = verdict.val_score, verdict.test_score
        node.reward = self.task.normalize(verdict.val_score) if verdict.val_score is not None else 0.0
        change = self.store.node_plan(node_id).change
        node.summary = f"{node.strategy}: {change} -> {verdict.headline}"
        changed = backpropagate(tree, node_id, node.reward)
        self.store.finish_node(node, verdict.best, verdict.insights, verdict.error, changed)
        self.say(f"node {node_id}: {node.status}, {verdict.headline}")
        return True

    def run(self, on_iteration: Callable[[], None] | None = None) -> RunSummary:
        limits = self.task.limits
        target = self.options.iterations or limits.max_iterations
        session_start, elapsed_before = time.time(), float(self.store.get_meta("elapsed_s", 0.0))

        def usage(nodes: int) -> Usage:
            return read_usage(self.store, nodes, session_start, elapsed_before)

        stopped_by, stop_reason = None, "no expandable node left"
        while True:
            tree = self.store.load_tree()
            node = tree.unfinished()
            if node is None:
                reached = exhausted(limits, usage(len(tree)), target)
                if reached is not None:
                    stopped_by, stop_reason = reached
                    break
                node_id = self._create_root() if tree.root is None else self._create_child(tree)
                if node_id is None:
                    break
                tree = self.store.load_tree()
            else:
                node_id = node.id
                self.say(f"node {node_id}: resuming")
            deadline = job_deadline(limits, usage(len(tree)), self.executor.scheduler.parallel_gpus)
            finished = self._execute(node_id, tree, deadline)
            self.store.set_meta("elapsed_s", usage(len(tree)).wall_s)
            if on_iteration is not None:
                on_iteration()
            if not finished:
                reached = exhausted(limits, usage(len(tree)))
                stopped_by, stop_reason = reached or ("budget", "the budget ran out while jobs ran")
                stop_reason += f"; jobs cancelled after the {limits.grace_minutes:g}-minute grace period"
                break
        self.store.set_meta("elapsed_s", usage(0).wall_s)
        self.store.set_meta("stopped", {"reason": stop_reason, "limit": stopped_by})
        self.store.event("run_stopped", None, reason=stop_reason, limit=stopped_by)
        return summarize(self.store, stop_reason, stopped_by)


def summarize(store: Store, stop_reason: str = "", stopped_by: str | None = None) -> RunSummary:
    tree = store.load_tree()
    best = tree.best()
    base = store.get_meta("base") or {}
    return RunSummary(
        nodes=len(tree),
        stop_reason=stop_reason,
        stopped_by=stopped_by,
        best_node=best.id if best else None,
        best_val=best.val_score if best else None,
        best_test=best.test_score if best else None,
        base_val=base.get("val"),
        base_test=base.get("test"),
    )


def start_run(workspace: Path, task: TaskSpec, task_path: Path, options: RunOptions) -> Store:
    """Open a workspace for a new run; refuse one that holds a run of another task."""
    store = Store(workspace)
    existing = store.get_meta("task_name")
    if existing is not None and existing != task.name:
        store.close()
        raise ValueError(f"{workspace} holds a run of task {existing!r}; use another --workspace or trex resume")
    if existing is None:
        (Path(workspace) / "task.yaml").write_text(task_path.read_text(encoding="utf-8"), encoding="utf-8")
        store.set_metas(
            {
                "task_dir": str(task_path.parent.resolve()),
                "objective": task.objective,
                "reference_score": task.reference_score,
                "options": options.model_dump(),
                "task_name": task.name,
            }
        )
    return store
