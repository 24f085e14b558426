"""The random researcher, the heuristic's control: seeded, drawn from the heuristic's space, blind to scores."""

from __future__ import annotations

from collections import Counter

from trex.agents.heuristic.researcher import HeuristicResearcher
from trex.agents.random_researcher import CHILD_STRATEGIES, LR_FACTORS, RandomResearcher
from trex.plan import ConfigOutcome, NodeRecord, PlanContext


def _parent(task, scores: list[float | None]) -> NodeRecord:
    plan = HeuristicResearcher(task).root_plan()
    outcomes = [
        ConfigOutcome(
            name=f"c{i}",
            job_hash=f"hash{i}",
            status="ok" if score is not None else "failed",
            train=plan.configs[0].train,
            val_score=score,
        )
        for i, score in enumerate(scores)
    ]
    return NodeRecord(
        id=1, parent=None, depth=0, strategy=plan.strategy, status="done", plan=plan, outcomes=outcomes, val_score=0.6
    )


def test_plans_are_seeded_and_differ_across_seeds(tiny_task) -> None:
    parent = _parent(tiny_task, [0.6, 0.5])
    a = RandomResearcher(tiny_task, seed=0).plan(PlanContext(parent=parent, seed=7))
    assert a == RandomResearcher(tiny_task, seed=0).plan(PlanContext(parent=parent, seed=7))  # a resume plans the same
    others = [RandomResearcher(tiny_task, seed=s).plan(PlanContext(parent=parent, seed=7)) for s in range(1, 6)]
    assert any(p.model_dump() != a.model_dump() for p in others)
    root = RandomResearcher(tiny_task, seed=0).root_plan()
    assert root.strategy == "establish_baseline" and len(root.configs) == tiny_task.limits.configs_per_plan


def test_draws_cover_the_space_and_ignore_scores(tiny_task) -> None:
    researcher = RandomResearcher(tiny_task, seed=3)
    default_lr = tiny_task.training.learning_rate
    strategies, factors, warm = Counter(), set(), 0
    for node_seed in range(60):
        plan = researcher.plan(PlanContext(parent=_parent(tiny_task, [0.9, None]), seed=node_seed))
        strategies[plan.strategy] += 1
        assert len({c.name for c in plan.configs}) == len(plan.configs)
        for config in plan.configs:
            plan.recipe_for(config).validate_steps()
            assert config.train.init_from_job in (None, "hash0")  # only a config that trained is continued
            warm += config.train.init_from_job is not None
            factors.add(round(config.train.learning_rate / default_lr, 4))
    assert set(strategies) == set(CHILD_STRATEGIES)
    assert factors <= {round(f, 4) for f in LR_FACTORS} and len(factors) >= 4
    assert 0 < warm < 60 * tiny_task.limits.configs_per_plan

    # blind to scores: swapping which config scored best changes nothing in what it draws
    high = researcher.plan(PlanContext(parent=_parent(tiny_task, [0.9, 0.1]), seed=11))
    low = researcher.plan(PlanContext(parent=_parent(tiny_task, [0.1, 0.9]), seed=11))
    assert high == low
