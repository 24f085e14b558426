"""The surrogate's proposals survive a resume: a run stopped by its budget before the surrogate plans a node, then
resumed in a new loop (a fresh researcher, a surrogate refitted from the store), makes the same plans and jobs as
one never interrupted, the surrogate's slots included (FakeScheduler: canned scores, no training)."""

from __future__ import annotations

from pathlib import Path

from tests.fakes import FakeScheduler
from trex.run.loop import SearchLoop
from trex.run.options import RunOptions
from trex.search.tree import RUNNING
from trex.store import Store


def _run(workspace: Path, task, scheduler: FakeScheduler, store: Store | None = None, **options: object) -> Store:
    store = store or Store(workspace)
    SearchLoop(store, task, RunOptions(**options), scheduler=scheduler).run()
    return store


def _plans(store: Store) -> list[tuple[int, str, list[tuple[str, str]], list[tuple[str, str]]]]:
    """Per node: its strategy, its configs (name, source) and its jobs (name, content hash; probes included)."""
    out = []
    for node in sorted(store.load_tree().nodes):
        plan, jobs = store.node_plan(node), [(s.name, s.hash) for s in store.jobs_of(node)]
        out.append((node, plan.strategy, [(c.name, c.source) for c in plan.configs], jobs))
    return out


def test_a_resumed_run_makes_the_same_surrogate_proposals(tmp_path: Path, tiny_task) -> None:
    task = tiny_task.model_copy(update={"limits": tiny_task.limits.model_copy(update={"grace_minutes": 0})})
    whole = _run(tmp_path / "whole", task, FakeScheduler(gpus=1), iterations=7, wall_clock_minutes=1)
    plans = _plans(whole)
    surrogate_nodes = [node for node, _, configs, _ in plans if any(src == "surrogate" for _, src in configs)]
    assert len(surrogate_nodes) >= 2, "the run must plan surrogate slots for the test to mean anything"
    late = surrogate_nodes[-1]
    # the budget stops the run inside the node before the last surrogate node: that node is planned after resume
    slow = plans[late - 2][3][0][1]
    seconds = lambda job: 60.0 if job.content_hash() == slow else 0.0  # noqa: E731
    first = _run(tmp_path / "resumed", task, FakeScheduler(gpus=1, seconds=seconds), iterations=7,
                 wall_clock_minutes=0.05)  # fmt: skip
    tree = first.load_tree()
    assert [n.id for n in tree.nodes.values() if n.status == RUNNING] == [late - 1] and late not in tree.nodes
    resumed = _run(tmp_path / "resumed", task, FakeScheduler(gpus=1), store=first, iterations=7, wall_clock_minutes=1)
    assert _plans(resumed) == plans
