"""What happens to a node once none of its jobs is in flight: repair rounds, then its verdict and backpropagation.

``NodeCompletion.repair`` adds a repaired job for every config whose latest attempt failed (at most
``MAX_REPAIR_ROUNDS`` per config, counted from the node's stored jobs, so a resumed run repairs
exactly as an uninterrupted one). ``NodeCompletion.promote`` then continues the probes that ASHA's rule
promotes (``trex.agents.probes``), from the stored probe scores of the tree in node and plan order, so a
resumed run promotes as an uninterrupted one. ``NodeCompletion.finish`` diagnoses the node, computes its reward
and commits its outcome together with the backpropagation along its path (one transaction).
``node_record`` is what a researcher sees of a node: its plan and its configs' validation outcomes;
``plan_context`` everything it is given to plan a child (the memory as it stands, every finished
job of the tree as an observation for the surrogate, the budget left). ``FinishedJobs`` decodes each
finished job once for the whole run instead of every job of the tree on every plan: a recorded
result's validation score and a job's spec never change (only a test score scored on demand is added
later, which planning never reads), so the observations are exactly those of a fresh decoding.
"""

from __future__ import annotations

from collections.abc import Callable

from trex.agents.probes import PROBE_MARK, continuation, continues_own_probe, promoted
from trex.agents.proposals import observation_of
from trex.agents.repair import MAX_REPAIR_ROUNDS
from trex.agents.researcher import Researcher
from trex.agents.verdict import diagnose_node
from trex.plan import BASELINE, BudgetLeft, ConfigSpec, NodeRecord, Plan, PlanContext
from trex.run.executor import config_job, outcome
from trex.run.steering import user_memory
from trex.runtime.job import JobResult
from trex.search.policies import backpropagate
from trex.search.tree import DONE, FAILED, RUNNING, Node, Tree
from trex.store import Store, StoredJob
from trex.task.spec import TaskSpec
from trex.train.config import TrainConfig

REPAIR_MARK = "~repair"


def node_record(store: Store, node_id: int) -> NodeRecord:
    """What a researcher sees of a node. A promoted probe's continuation shows its config's planned steps (the
    probe's and its own): a move that continues or scales the config starts from the config, not from the rest
    of the steps that the continuation trained (its ``steps`` still say what that job trained)."""
    row = store.node_row(node_id)
    plan = Plan.model_validate_json(row["plan"])
    planned = {c.name: c.train.max_steps for c in plan.configs}
    outcomes, hashes = [], {}
    for stored in store.jobs_of(node_id):
        hashes[stored.name] = stored.job.content_hash()
        if stored.result is not None and stored.name != BASELINE:
            seen = outcome(stored.name, stored.job, stored.result, stored.workdir)
            train = seen.train
            if train is not None and continues_own_probe(stored.name, train, hashes):
                seen.train = train.model_copy(update={"max_steps": planned.get(stored.name, train.max_steps)})
            outcomes.append(seen)
    return NodeRecord(
        id=row["id"],
        parent=row["parent"],
        depth=row["depth"],
        strategy=row["strategy"],
        status=row["status"],
        plan=plan,
        outcomes=outcomes,
        val_score=row["val_score"],
        reward=row["reward"],
        summary=row["summary"],
    )


class FinishedJobs:
    """The finished training jobs of a tree, (hash, train config, validation score) in node and plan order (a job
    shared by two nodes appears twice, as ``store.jobs_of`` gives it); each job is decoded once and kept."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._decoded: dict[str, tuple[TrainConfig, float | None] | None] = {}  # None: an evaluation-only job

    def of(self, tree: Tree) -> list[tuple[str, TrainConfig, float | None]]:
        out = []
        for node_id, job_hash in self.store.finished_node_jobs():
            if node_id not in tree.nodes:
                continue
            if job_hash not in self._decoded:
                stored = self.store.job(job_hash)
                train = stored.job.train if stored is not None and stored.result is not None else None
                self._decoded[job_hash] = (train, stored.result.val_score) if train else None  # type: ignore[union-attr]
            known = self._decoded[job_hash]
            if known is not None:
                out.append((job_hash, *known))
        return out


def plan_context(
    store: Store,
    tree: Tree,
    parent_id: int,
    memory: str,
    seed: int,
    budget: BudgetLeft,
    finished_jobs: FinishedJobs | None = None,
) -> PlanContext:
    """What a researcher is given to plan a child of ``parent_id``; siblings still in flight are included, and the
    other nodes in flight are listed (``in_flight``).
    ``finished_jobs`` keeps the decoded jobs from one plan to the next (a fresh one decodes them all)."""
    parent = node_record(store, parent_id)
    grandparent = node_record(store, parent.parent) if parent.parent is not None else None
    siblings = [node_record(store, c.id) for c in tree.children(parent_id)]
    family = {parent_id, *(s.id for s in siblings)}
    in_flight = [node_record(store, n.id) for n in tree.nodes.values() if n.status == RUNNING and n.id not in family]
    finished = (finished_jobs or FinishedJobs(store)).of(tree)
    trains = {job_hash: train for job_hash, train, _ in finished}
    observations = [observation_of(train, score, trains) for _, train, score in finished]
    pending = [
        observation_of(stored.job.train, None, trains)
        for node in tree.nodes.values()
        if node.status == RUNNING
        for stored in store.jobs_of(node.id)
        if stored.result is None and stored.job.train is not None
    ]
    return PlanContext(
        parent=parent,
        grandparent=grandparent,
        siblings=siblings,
        memory=user_memory(store) + memory,  # a person's notes and hypotheses first (``trex.run.steering``)
        seed=seed,
        budget=budget,
        observations=observations,
        pending=pending,
        in_flight=in_flight,
        trains=trains,  # type: ignore[arg-type]
    )


def _ok_score(stored: StoredJob | None) -> float | None:
    """A finished job's validation score; None when it failed (or there is none)."""
    result = stored.result if stored is not None else None
    return result.val_score if result is not None and result.status == "ok" else None


class NodeCompletion:
    def __init__(
        self, store: Store, task: TaskSpec, researcher: Researcher, seed: int, say: Callable[[str], None]
    ) -> None:
        self.store, self.task, self.researcher, self.seed, self.say = store, task, researcher, seed, say
        self.finished_jobs = FinishedJobs(store)

    def repair(self, node_id: int, results: list[tuple[str, JobResult]]) -> bool:
        """Add repaired jobs for the failed configs; True when some were added (the node runs again)."""
        plan = self.store.node_plan(node_id)
        specs = {stored.name: stored.job for stored in self.store.jobs_of(node_id)}
        latest: dict[str, tuple[str, JobResult]] = {}
        for name, result in results:
            if name != BASELINE:
                latest[name.split(REPAIR_MARK)[0]] = (name, result)
        added, notes = [], []
        for base, (name, result) in latest.items():
            attempts = sum(n.split(REPAIR_MARK)[0] == base for n in specs) - 1
            unrepairable = result.error_class in ("cancelled", "evaluation_changed")  # a changed evaluation stays so
            if result.status == "ok" or unrepairable or attempts >= MAX_REPAIR_ROUNDS:
                continue
            job = specs[name]
            config = ConfigSpec(name=name, train=job.train, recipe=job.recipe) if job.train else None
            error = result.error or ""
            fix = self.researcher.repair(plan, config, result.error_class, error, attempts + 1) if config else None
            if fix is None:
                continue
            repaired, change = fix
            new_name = f"{base}{REPAIR_MARK}{attempts + 1}"
            new_job = config_job(self.task, plan, repaired.model_copy(update={"name": new_name}), self.seed)
            if new_job.content_hash() in {j.content_hash() for j in specs.values()}:
                continue  # the same job again would fail the same way
            added.append((new_job.content_hash(), new_job.model_dump_json(), new_name))
            notes.append(
                {"config": name, "repaired_as": new_name, "change": change, "error": (result.error or "")[:500]}
            )
            self.say(f"node {node_id}: repairing {name} ({change})")
        if added:
            self.store.add_node_jobs(node_id, added, {"kind": "repair", "repairs": notes})
        return bool(added)

    def _probes(self, node_id: int) -> dict[str, StoredJob]:
        """The node's probes: config name -> the latest finished attempt of its probe."""
        latest: dict[str, StoredJob] = {}
        for stored in self.store.jobs_of(node_id):
            base = stored.name.split(REPAIR_MARK)[0]
            if base.endswith(PROBE_MARK) and stored.result is not None:
                latest[base.removesuffix(PROBE_MARK)] = stored
        return latest

    def promote(self, node_id: int, affords: Callable[[int], bool] = lambda steps: True) -> bool:
        """Add the continuation of every probe of the node that ASHA's rule promotes and the budget pays for
        (``affords(steps)``); True when some were added (the node runs again)."""
        plan = self.store.node_plan(node_id)
        if not any(c.probe for c in plan.configs):
            return False
        earlier = [
            score
            for other in sorted(self.store.load_tree().nodes)
            if other < node_id
            for stored in self._probes(other).values()
            if (score := _ok_score(stored)) is not None
        ]
        probes = self._probes(node_id)
        names = {stored.name for stored in self.store.jobs_of(node_id)}
        added, notes = [], []
        for config in plan.configs:
            score = _ok_score(probes.get(config.name))
            if not config.probe or score is None:
                continue
            goes_on = promoted(score, earlier)
            earlier.append(score)
            if not goes_on or config.name in names:  # not promoted, or its continuation is already there
                continue
            full = continuation(config, probes[config.name].job, probes[config.name].hash)
            if not affords(full.train.max_steps):
                self.say(f"node {node_id}: {config.name}'s probe is promoted, but the budget cannot pay for the rest")
                continue
            job = config_job(self.task, plan, full, self.seed)
            added.append((job.content_hash(), job.model_dump_json(), config.name))
            notes.append({"config": config.name, "probe": full.train.init_from_job, "score": score,
                          "steps": full.train.max_steps})  # fmt: skip
            self.say(f"node {node_id}: promoting {config.name} (probe {score:.3f}): {full.train.max_steps} more steps")
        if added:
            self.store.add_node_jobs(node_id, added, {"kind": "promotion", "promotions": notes})
        return bool(added)

    def finish(self, tree: Tree, node_id: int, results: list[tuple[str, JobResult]]) -> Node:
        """Diagnose the node, set its reward and backpropagate it; commit all of it at once."""
        node = tree.nodes[node_id]
        if node.parent is None:
            base = next((r for name, r in results if name == BASELINE), None)
            if base is not None and base.status == "ok":
                self.store.set_meta("base", {"val": base.val_score, "test": base.test_score})
        parent_val = tree.nodes[node.parent].val_score if node.parent is not None else None
        verdict = diagnose_node(results, parent_val, self.store.get_meta("base"))
        node.status = DONE if verdict.best is not None else FAILED
        node.val_score, node.test_score = verdict.val_score, verdict.test_score
        node.reward = self.task.normalize(verdict.val_score) if verdict.val_score is not None else 0.0
        node.summary = f"{node.strategy}: {self.store.node_plan(node_id).change} -> {verdict.headline}"
        changed = backpropagate(tree, node_id, node.reward)
        self.store.finish_node(node, verdict.best, verdict.insights, verdict.error, changed)
        self.say(f"node {node_id}: {node.status}, {verdict.headline}")
        return node
