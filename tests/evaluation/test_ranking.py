"""One definition of a node's best config: the verdict, the researcher's record and the report agree on ties."""

from __future__ import annotations

import json

from trex.agents.verdict import diagnose_node
from trex.evaluation.config import EvalConfig
from trex.evaluation.intervals import Score
from trex.evaluation.ranking import best_config
from trex.evaluation.run import SplitResult
from trex.plan import BASELINE, NodeRecord, Plan
from trex.report.node_section import _best
from trex.run.executor import outcome
from trex.runtime.job import Job, JobResult
from trex.train.common import TrainLog
from trex.train.config import TrainConfig

EVAL = EvalConfig(validation="v", test="t", prompt_template="{text}", choices={"a": " a", "b": " b"})


def _job(lr: float | None) -> Job:
    return Job(base_model="m", eval=EVAL, train=TrainConfig(learning_rate=lr) if lr else None)


def _result(job: Job, val: float, loss: float | None) -> JobResult:
    log = (
        TrainLog(steps=4, losses=[(1, 2.0), (4, loss)], train_rows=8, seconds=1.0, trainable_params=1)
        if loss
        else None
    )
    score = Score(value=val, low=val - 0.05, high=val + 0.05, n=200)
    return JobResult(
        job_hash=job.content_hash(), status="ok", validation=SplitResult(split="validation", score=score), train=log
    )


def test_ties_go_to_the_lower_loss_everywhere() -> None:
    base, a, b = _job(None), _job(1e-4), _job(2e-4)
    # b's score equals a's up to floating-point error (a mean computed in another order); the baseline scores
    # higher but is the untrained reference, never a config
    results = [
        (BASELINE, _result(base, 0.9, None)),
        ("a", _result(a, 0.6, 0.5)),
        ("b", _result(b, 0.6 + 1e-12, 0.3)),
    ]
    verdict = diagnose_node(results, None, None)
    assert verdict.best == b.content_hash()
    jobs = {BASELINE: base, "a": a, "b": b}
    record = NodeRecord(
        id=1, parent=None, depth=0, strategy="establish_baseline", status="done",
        plan=Plan.model_construct(strategy="establish_baseline", change="c", rationale="r", configs=[]),
        outcomes=[outcome(name, jobs[name], r) for name, r in results],
    )  # fmt: skip
    assert record.best().name == "b"
    rows = [
        {"name": n, "spec": json.loads(jobs[n].model_dump_json()), "result": json.loads(r.model_dump_json())}
        for n, r in results
    ]
    assert _best(rows)["name"] == "b"


def test_equal_scores_and_losses_go_to_the_earlier_config() -> None:
    items = [("x", 0.5, 1.0), ("y", 0.5, 1.0), ("z", 0.4, 0.1)]
    assert best_config(items, lambda i: i[1], lambda i: i[2])[0] == "x"
    assert best_config([("n", None, None)], lambda i: i[1], lambda i: i[2]) is None
