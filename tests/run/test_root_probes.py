"""The root's learning-rate probes: when a budget pays for one long run and a few short ones, a few short runs of
other rates choose the long run's rate; the long run continues the best probe for the time left."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import FakeScheduler
from trex.agents.root_probes import PROBE_CHANGE, TUNED_FACTORS, UNTUNED_FACTORS, next_probe, probe_plan, tuned
from trex.plan import ProbeRoot
from trex.run.budget import PROBE_SHARE, PROBE_STEPS, Usage, long_run, probe_root
from trex.run.costs import StepCost
from trex.task.spec import Limits

TASK_FILE = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "tiny.yaml"


def _usage(wall_s: float) -> Usage:
    return Usage(nodes=1, wall_s=wall_s, gpu_hours=0.0, llm_usd=0.0, llm_tokens=0)


def test_as_many_probes_as_fit_a_quarter_of_the_time_left_and_none_below_two() -> None:
    limits, after_base = Limits(wall_clock_minutes=18), _usage(50.0)  # 1030 s left, 257.5 s for probes
    assert probe_root(limits, after_base, StepCost(fixed_s=25.0, step_s=2.5), 1) == ProbeRoot(configs=3, steps=24)
    assert probe_root(limits, after_base, StepCost(fixed_s=25.0, step_s=3.5), 1) == ProbeRoot(configs=2, steps=24)
    assert probe_root(limits, after_base, StepCost(fixed_s=25.0, step_s=9.0), 1) is None  # one run instead
    assert probe_root(limits, after_base, StepCost(fixed_s=25.0, step_s=2.5), 4).configs == 4  # one a slot
    assert probe_root(Limits(), after_base, StepCost(fixed_s=25.0, step_s=2.5), 1) is None  # no wall clock
    assert probe_root(limits, after_base, None, 1) is None  # nothing measured
    for n in (2, 3):
        assert n * (25.0 + PROBE_STEPS * 2.5) <= (1080 - 50) * PROBE_SHARE or n == 3
    run = long_run(limits, _usage(400.0), StepCost(fixed_s=25.0, step_s=2.5))
    assert run is not None and run.seconds == pytest.approx(680 * 0.95 - 50)  # its own fixed cost and the test's


def test_an_untuned_task_probes_upward_and_a_tuned_one_around_its_rate(tiny_task) -> None:
    from trex.agents.heuristic.researcher import HeuristicResearcher

    untuned = tiny_task.model_copy(update={"training": tiny_task.training.model_validate({"max_steps": 60})})
    assert tuned(tiny_task) and not tuned(untuned)
    for task, factors in ((untuned, UNTUNED_FACTORS), (tiny_task, TUNED_FACTORS)):
        root = HeuristicResearcher(task, seed=3)._root_plan()
        plan = probe_plan(root, task, ProbeRoot(configs=3, steps=PROBE_STEPS), seed=3)
        assert plan.change == PROBE_CHANGE and len(plan.configs) == 1 and len(plan.later) == 2  # children to come
        probes = plan.configs + plan.later
        rates = [c.train.learning_rate for c in probes]
        assert rates == pytest.approx([task.training.learning_rate * f for f in factors])
        assert all(c.train.lr_scheduler == "constant" and c.train.max_steps == PROBE_STEPS for c in probes)
        assert plan == probe_plan(root, task, ProbeRoot(configs=3, steps=PROBE_STEPS), seed=3)  # seeded
        assert len({c.recipe.model_dump_json() for c in probes}) == 1  # the same rows: only the rate differs
        second = next_probe(plan, [])
        assert second is not None and second.configs == plan.later[:1] and second.change == PROBE_CHANGE
        assert next_probe(plan, [second]).configs == plan.later[1:] and next_probe(plan, [second, second]) != second
        assert next_probe(plan, [second, next_probe(plan, [second])]) is None
    five = probe_plan(root, tiny_task, ProbeRoot(configs=5, steps=PROBE_STEPS), seed=3)
    assert len(five.later) == 4 and five.later[2].train.lora_r == 2 * tiny_task.training.lora_r


def _score(job) -> float:  # noqa: ANN001
    """Steps and a higher rate help, as on the demo task at these lengths: the base model 0.5."""
    if job.train is None:
        return 0.5
    return min(0.95, 0.55 + 0.0004 * job.train.max_steps + 10 * job.train.learning_rate)


def _run(tmp_path: Path, task, name: str):  # noqa: ANN001, ANN202
    from trex.run.loop import SearchLoop
    from trex.run.options import RunOptions
    from trex.run.workspace import start_run

    # 12 s at 0.02 s a step: the usual root (2 x 60 steps, 2.4 s) is more than an eighth of the time left, three
    # 24-step probes (1.44 s) fit a quarter of it
    options = RunOptions(iterations=20, wall_clock_minutes=0.2, seed=5)
    store, task = start_run(tmp_path / name, task, TASK_FILE, options)
    scheduler = FakeScheduler(seconds=lambda job: 0.02 * job.train.max_steps if job.train else 0.0, score=_score)
    summary = SearchLoop(store, task, options, scheduler=scheduler).run()
    return store, scheduler, summary, options


@pytest.mark.slow  # about 40 s of scheduled time
def test_probes_then_the_long_run_of_the_best_inside_the_budget_and_no_probe_scores_the_test_split(
    tmp_path: Path, tiny_task
) -> None:
    from trex.run.loop import SearchLoop

    task = tiny_task.model_copy(update={"training": tiny_task.training.model_validate({"max_steps": 60})})
    store, scheduler, summary, options = _run(tmp_path, task, "a")
    calibrated = store.events("calibrated")[0]["data"]
    assert calibrated["probes"] == {"configs": 3, "steps": PROBE_STEPS} and calibrated["one_run"] is None
    tree = store.load_tree()
    assert all(store.node_plan(n).change == PROBE_CHANGE for n in (1, 2, 3))  # each probe a node of the tree
    assert tree.nodes[2].parent == 1 and tree.nodes[3].parent == 1 and tree.nodes[4].parent == 3
    probes = [store.jobs_of(1)[1], store.jobs_of(2)[0], store.jobs_of(3)[0]]
    assert [p.job.train.learning_rate for p in probes] == pytest.approx([2e-4, 6e-4, 2e-3])
    (long,) = store.jobs_of(4)  # one slot: one long run
    best_probe = store.node_row(3)["best_job"]  # the best of the three
    assert long.job.train.init_from_job == best_probe and long.job.train.lr_scheduler == "linear"
    assert long.job.train.max_seconds is not None and long.result.train.seconds > 3 * 0.02 * PROBE_STEPS
    probe_hashes = {p.hash for p in probes}
    assert not probe_hashes & set(scheduler.test_runs)  # the long run became the result; no probe's test was scored
    assert not [r for r in scheduler.requests if r.job.content_hash() in probe_hashes and r.score_test]
    assert summary.best_node == 4 and len(tree) == 4  # nothing after the long run: too short to move the score
    elapsed = store.get_meta("elapsed_s")
    assert elapsed <= 12 * 1.15 and summary.best_test is not None and not store.events("job_cancelled")

    again, _, _, _ = _run(tmp_path, task, "b")  # the same seed plans the same probes and the same long run
    assert [j.hash for j in again.jobs_of(1)] == [j.hash for j in store.jobs_of(1)]
    assert again.node_plan(4).configs[0].train.init_from_job == store.node_plan(4).configs[0].train.init_from_job
    runs = len(scheduler.runs)  # a resume plans nothing again: every job is reused by hash
    SearchLoop(store, task, options, scheduler=scheduler).run()
    assert len(scheduler.runs) == runs
    store.close()
    again.close()


def test_a_continuation_too_short_to_move_the_score_is_not_a_node() -> None:
    from trex.run.continuation import useful_steps

    # a 378-step run from 0.565 to 0.855 (interval 0.805-0.9): 4 more steps cannot move it, nor 300; 1000 can
    floor = useful_steps(0.855, 0.805, 0.9, 0.565, 378)
    assert floor is not None and 300 < floor < 1000
    # a 24-step probe from 0.565 to 0.75 (0.69-0.81): its long run of 280 steps is worth it, 5 steps are not
    probe = useful_steps(0.75, 0.69, 0.81, 0.565, 24)
    assert probe is not None and 5 < probe < 280
    assert useful_steps(0.5, 0.45, 0.55, 0.565, 24) is None  # nothing learned: no curve to read, no floor


def test_a_metric_that_weighs_every_label_the_same_balances_the_probes_and_the_long_run(tiny_task) -> None:
    from trex.agents.heuristic.researcher import HeuristicResearcher
    from trex.agents.recipes import refined_recipes, resampled

    assert tiny_task.eval.mode == "choices" and tiny_task.eval.metric != "macro_f1"
    macro = tiny_task.model_copy(update={"eval": tiny_task.eval.model_copy(update={"metric": "macro_f1"})})
    label = tiny_task.eval.label_field

    def drawn(recipe) -> str | None:  # noqa: ANN001
        (draw,) = [s for s in recipe.steps if s.op == "select_by_random"]
        return draw.args["stratify_by"]

    for task, balanced in ((tiny_task, None), (macro, label)):
        root = HeuristicResearcher(task, seed=3)._root_plan()
        plan = probe_plan(root, task, ProbeRoot(configs=3, steps=PROBE_STEPS), seed=3)
        assert [drawn(c.recipe) for c in plan.configs + plan.later] == [balanced] * 3
        assert drawn(resampled(plan.configs[0].recipe, 999, 4)) == balanced  # the long run's rows: fresh, same draw
    assert dict((name, drawn(r)) for name, r in refined_recipes(macro, 100, 1))["len40"] is None  # still a choice
