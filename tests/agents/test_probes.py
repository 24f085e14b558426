"""Cheap probes: which configs are new directions, ASHA's promotion rule, and probes inside the real loop.

The loop runs on a FakeScheduler (canned scores from each job's hash, real slots, no training): a probe's job
trains a third of the steps, a promoted probe continues from its own weights for the rest, and a run stopped
between a probe and its promotion (or before the probe ran) and then resumed makes the same promotions and
the same jobs as a run never interrupted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import FakeScheduler, default_score
from trex.agents.heuristic.researcher import HeuristicResearcher, base_recipe
from trex.agents.llm.render import config_text
from trex.agents.probes import ETA, PROBE_MARK, mark_probes, new_direction, promoted
from trex.plan import ConfigOutcome, ConfigSpec, Plan, PlanContext
from trex.run.loop import SearchLoop
from trex.run.node_end import node_record
from trex.run.options import RunOptions
from trex.search.tree import RUNNING
from trex.store import Store
from trex.train.config import TrainConfig


def _best(tiny_task, **train: object) -> ConfigOutcome:
    cfg = TrainConfig(learning_rate=1e-3, max_steps=30, **train)
    return ConfigOutcome(name="best", job_hash="h", status="ok", train=cfg, recipe=base_recipe(tiny_task, 240, 0))


def _config(name: str, **train: object) -> ConfigSpec:
    return ConfigSpec(name=name, train=TrainConfig(**{"learning_rate": 1e-3, "max_steps": 30, **train}))


def test_new_directions_are_a_scheme_switch_a_far_rate_or_new_recipe_steps(tiny_task) -> None:
    best, recipe = _best(tiny_task), base_recipe(tiny_task, 240, 0)
    assert new_direction(_config("x10", learning_rate=1e-2), recipe, best) is not None
    assert new_direction(_config("x0.2", learning_rate=2e-4), recipe, best) is not None
    assert new_direction(_config("full", method="full_sft"), recipe, best) is not None
    assert new_direction(_config("x2", learning_rate=2e-3, max_steps=120), recipe, best) is None  # a refinement
    balanced = base_recipe(tiny_task, 240, 7, stratify=True, min_chars=40)  # same steps, other arguments
    assert new_direction(_config("balanced"), balanced, best) is None
    augmented = recipe.insert_after(
        "select_by_filter", recipe.steps[0].model_copy(update={"op": "augment_by_recombination", "args": {}})
    )
    assert "recipe steps" in new_direction(_config("synthetic"), augmented, best)


def test_mark_probes_leaves_roots_timed_runs_and_short_configs_at_full_length(tiny_task) -> None:
    configs = [
        _config("far", learning_rate=1e-2),
        _config("near", learning_rate=2e-3),
        _config("far-but-timed", learning_rate=1e-2, max_seconds=60.0),
        _config("far-but-short", learning_rate=1e-2, max_steps=ETA * 4 - 1),
    ]
    plan = Plan(strategy="adjust_training", rationale="r", change="c", recipe=base_recipe(tiny_task, 240, 0),
                configs=configs)  # fmt: skip
    assert mark_probes(plan, None) == plan
    marked = mark_probes(plan, _best(tiny_task))
    assert [c.probe for c in marked.configs] == [True, False, False, False]
    assert "probe" not in plan.model_dump_json()  # unmarked plans serialize as before


def test_asha_promotes_the_top_third_of_the_probes_so_far() -> None:
    assert promoted(0.6, [])  # the first probe is the best so far
    assert not promoted(0.5, [0.6])
    assert promoted(0.7, [0.6, 0.5])
    scores = [0.9, 0.8, 0.7, 0.6, 0.5]
    assert promoted(0.8, scores)  # 6 probes: the top 2 go on
    assert not promoted(0.75, scores)


class _FarThenNear(HeuristicResearcher):
    """Every child: a learning-rate jump x10 from scratch (a new direction) and a warm continuation (a refinement)."""

    def _plan(self, context: PlanContext) -> Plan:
        best = context.parent.best()
        assert best is not None and best.train is not None and best.recipe is not None
        far = best.train.model_copy(
            update={"learning_rate": best.train.learning_rate * 10, "init_from_job": None, "max_steps": 12}
        )
        near = best.train.model_copy(update={"init_from_job": best.job_hash})
        return Plan(strategy="adjust_training", rationale="r", change=f"x10 and continue {best.name}",
                    recipe=base_recipe(self.task, 96, context.seed),
                    configs=[ConfigSpec(name="far", train=far), ConfigSpec(name="near", train=near)])  # fmt: skip


def _run(workspace: Path, task, scheduler: FakeScheduler, **options: object) -> SearchLoop:
    store = Store(workspace)
    loop = SearchLoop(store, task, RunOptions(**options), scheduler=scheduler, researcher=_FarThenNear(task))
    loop.run()
    return loop


def _jobs(store: Store) -> list[tuple[int, str, str, int | None, str | None]]:
    out = []
    for node in sorted(store.load_tree().nodes):
        for s in store.jobs_of(node):
            train = s.job.train
            out.append(
                (node, s.name, s.hash, train.max_steps if train else None, train.init_from_job if train else None)
            )
    return out


def _score(job) -> float | None:
    """Canned scores; a probe's continuation always beats its probe (longer training)."""
    score = default_score(job)
    return min(0.95, score + 0.05) if job.train is not None and job.train.init_from_job else score


def test_probes_run_a_third_of_the_steps_and_promotions_continue_them(tmp_path: Path, tiny_task) -> None:
    loop = _run(tmp_path / "ws", tiny_task, FakeScheduler(gpus=1, score=_score), iterations=5)
    store = loop.store
    jobs = _jobs(store)
    probes = [(n, h, steps) for n, name, h, steps, _ in jobs if name == "far" + PROBE_MARK]
    assert len(probes) == 4 and all(steps == 12 // ETA for *_, steps in probes)
    promotions = [e["data"]["promotions"] for e in store.events("promotion")]
    assert promotions, "the first probe is the best so far: it goes on"
    continued = {init: (node, steps) for node, name, _, steps, init in jobs if name == "far"}
    probe_of = {h: n for n, h, _ in probes}
    assert continued and all(
        probe_of[init] == node and steps == 12 - 12 // ETA for init, (node, steps) in continued.items()
    )
    # ASHA's rule, replayed from the stored probe scores in node order
    seen: list[float] = []
    for node, job_hash, _ in probes:
        score = store.job(job_hash).result.val_score
        assert (job_hash in continued) == promoted(score, seen), f"node {node}"
        seen.append(score)
    assert not all(h in continued for _, h, _ in probes), "some probe must stay a probe for the test to mean anything"
    assert all(name != "near" + PROBE_MARK for _, name, *_ in jobs)  # a refinement runs at full length
    plans = [store.node_plan(n) for n in store.load_tree().nodes if n != 1]
    assert all([c.probe for c in p.configs] == [True, False] for p in plans)
    # what a researcher sees of a promoted config: its planned 12 steps, not the 8 its continuation trained
    node = next(iter(continued.values()))[0]
    record = node_record(store, node)
    (seen,) = [o for o in record.outcomes if o.name == "far"]
    assert seen.train.max_steps == 12 and seen.steps == 12 - 12 // ETA
    assert f"after its probe's {12 // ETA} (promoted: 12 steps planned in all)" in "\n".join(config_text(seen, record))


@pytest.mark.parametrize("stop_at", ["probe", "continuation"])
def test_a_resumed_run_makes_the_same_promotions(tmp_path: Path, tiny_task, stop_at: str) -> None:
    """The budget cancels one job (the second probe, or the first promoted probe's continuation); the resumed run
    equals one never interrupted, job for job and promotion for promotion."""
    task = tiny_task.model_copy(update={"limits": tiny_task.limits.model_copy(update={"grace_minutes": 0})})
    whole = _run(tmp_path / "whole", task, FakeScheduler(gpus=1, score=_score), iterations=5, wall_clock_minutes=1)
    jobs = _jobs(whole.store)
    if stop_at == "probe":
        node, _, slow, *_ = [j for j in jobs if j[1] == "far" + PROBE_MARK][1]
    else:
        node, _, slow, *_ = next(j for j in jobs if j[1] == "far")
    seconds = lambda job: 60.0 if job.content_hash() == slow else 0.0  # noqa: E731
    first = _run(tmp_path / "resumed", task, FakeScheduler(gpus=1, score=_score, seconds=seconds), iterations=5,
                 wall_clock_minutes=0.05)  # fmt: skip
    assert [n.id for n in first.store.load_tree().nodes.values() if n.status == RUNNING] == [node]
    promoted_first = any(e["node_id"] == node for e in first.store.events("promotion"))
    assert promoted_first == (stop_at == "continuation")  # stopped after the promotion, or before the probe ran
    resumed = SearchLoop(first.store, task, RunOptions(iterations=5, wall_clock_minutes=1),
                         scheduler=FakeScheduler(gpus=1, score=_score), researcher=_FarThenNear(task))  # fmt: skip
    resumed.run()
    assert _jobs(resumed.store) == jobs
    assert [e["data"] for e in resumed.store.events("promotion")] == [
        e["data"] for e in whole.store.events("promotion")
    ]
