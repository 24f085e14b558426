"""The surrogate: proposals are deterministic for a seed (a resumed run proposes what an uninterrupted one
did), concentrate near good observations, respect the space and the pinned levers, and learn from failures."""

from __future__ import annotations

import math
import random
import statistics

from trex.search.surrogate import Choice, Integer, Observation, Real, SearchSpace, Surrogate, propose, training_space

SPACE = SearchSpace(
    params=(
        Real(name="learning_rate", low=1e-6, high=1e-3, log=True),
        Integer(name="max_steps", low=10, high=2000, log=True),
        Choice(name="lora_r", choices=(8, 16, 32)),
    )
)


def _score(lr: float, steps: int) -> float:
    # a smooth optimum at lr 1e-4, 300 steps
    return 0.9 - 0.1 * (math.log10(lr) + 4) ** 2 - 0.1 * (math.log10(steps) - math.log10(300)) ** 2


def _history(n: int, seed: int = 0) -> list[Observation]:
    rng, out = random.Random(seed), []
    for i in range(n):
        lr, steps = 10 ** rng.uniform(-6, -3), round(10 ** rng.uniform(1, 3.3))
        score = None if i % 9 == 4 else _score(lr, steps)
        out.append(
            Observation(params={"learning_rate": lr, "lora_r": rng.choice((8, 16, 32))}, score=score, steps=steps)
        )
    return out


def test_proposals_are_deterministic_for_a_seed() -> None:
    history = _history(30)
    first = propose(history, SPACE, 4, seed=7)
    assert first == propose(history, SPACE, 4, seed=7)
    assert first != propose(history, SPACE, 4, seed=8)
    # a run resumed from its stored observations asks a fresh surrogate: the same as asking in one go
    incremental = Surrogate(SPACE, seed=7)
    for observation in history:
        incremental.tell(observation)
    assert incremental.ask(4) == first


def test_proposals_concentrate_near_good_observations() -> None:
    history = _history(60)
    proposals = propose(history, SPACE, 20, seed=1)
    uniform = [10 ** random.Random(i).uniform(-6, -3) for i in range(20)]
    distance = statistics.fmean(abs(math.log10(p["learning_rate"]) + 4) for p in proposals)
    assert distance < 0.6 < statistics.fmean(abs(math.log10(lr) + 4) for lr in uniform)
    assert statistics.fmean(_score(p["learning_rate"], p["max_steps"]) for p in proposals) > statistics.fmean(
        o.score for o in history if o.score is not None
    )


def test_proposals_stay_in_the_space_and_keep_pinned_levers() -> None:
    for proposal in propose(_history(25), SPACE, 5, seed=3, fixed={"lora_r": 32, "max_steps": 99999}):
        assert 1e-6 <= proposal["learning_rate"] <= 1e-3
        assert proposal["lora_r"] == 32 and proposal["max_steps"] == 2000  # pinned, clipped into the space


def test_the_score_is_read_at_the_steps_it_was_measured() -> None:
    # a probe of 100 steps is an observation at 100 steps, whatever its config planned
    surrogate = Surrogate(SPACE, seed=0)
    surrogate.tell(Observation(params={"learning_rate": 1e-4, "max_steps": 900, "lora_r": 16}, score=0.7, steps=100))
    assert surrogate.study.trials[0].params["max_steps"] == 100


def test_failures_count_as_the_worst_finished_score() -> None:
    surrogate = Surrogate(SPACE, seed=0)
    surrogate.tell(Observation(params={"learning_rate": 1e-3, "lora_r": 8}, score=None, steps=50))
    assert surrogate.study.trials == []  # no finished score yet to compare it with
    surrogate.tell(Observation(params={"learning_rate": 1e-4, "lora_r": 8}, score=0.6, steps=50))
    assert sorted(t.value for t in surrogate.study.trials) == [0.6, 0.6]


def test_training_space_names_the_train_config_fields() -> None:
    from trex.train.config import TrainConfig

    names = {p.name for p in training_space().params}
    assert names - {"warm_start"} <= set(TrainConfig.model_fields)
    assert len(propose([], training_space(), 3, seed=0)) == 3  # no history: uniform draws


def test_configs_in_flight_steer_proposals_away_until_released() -> None:
    import optuna

    history = _history(60)

    def distance(surrogate: Surrogate, **ask: object) -> float:
        return statistics.fmean(abs(math.log10(p["learning_rate"]) + 4) for p in surrogate.ask(8, **ask))

    def fitted() -> Surrogate:
        surrogate = Surrogate(SPACE, seed=3)
        for observation in history:
            surrogate.tell(observation)
        return surrogate

    free, busy = fitted(), fitted()
    held = [busy.hold({"learning_rate": 10 ** (-4 + d / 50), "lora_r": 16}, 300) for d in range(-5, 6)]
    running = [t for t in busy.study.trials if t.state == optuna.trial.TrialState.RUNNING]
    assert [t.number for t in running] == held and running[5].params == {"learning_rate": 1e-4, "max_steps": 300,
                                                                         "lora_r": 16}  # fmt: skip
    assert distance(busy) > distance(free)  # the optimum is being tried: look elsewhere
    pending: list[int] = []
    busy.ask(2, hold=pending)  # proposals kept pending too, until their node finishes
    assert len(pending) == 2
    busy.release(held + pending)
    assert not [t for t in busy.study.trials if t.state == optuna.trial.TrialState.RUNNING]


def test_within_narrows_numeric_levers_to_a_trust_region() -> None:
    space = training_space(max_steps=1000)
    region = space.within({"learning_rate": (1e-4, 4e-3), "max_steps": (16.4, 128.0), "other": (0, 1)})
    levers = {p.name: p for p in region.params}
    assert (levers["learning_rate"].low, levers["learning_rate"].high) == (1e-4, 1e-3)  # capped by the space
    assert (levers["max_steps"].low, levers["max_steps"].high) == (16, 128) and levers["max_steps"].log
    assert levers["lora_r"] == next(p for p in space.params if p.name == "lora_r")  # choices keep their range
    outside = space.within({"learning_rate": (0.5, 0.9)})  # a region beyond the range: its nearest end
    lr = next(p for p in outside.params if p.name == "learning_rate")
    assert lr.low == lr.high == 1e-3
    observations = [
        Observation(params={"learning_rate": 10 ** (-6 + i / 3)}, score=i / 20, steps=50) for i in range(12)
    ]
    for params in propose(observations, region, n=8, seed=3):
        assert 1e-4 <= params["learning_rate"] <= 1e-3 and 16 <= params["max_steps"] <= 128
