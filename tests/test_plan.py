"""The plan checker's rule for code an LLM wrote: a filter's ``code`` is refused, with the reason, on a machine
whose sandbox would refuse to run it (no bubblewrap, no Landlock, the weak mode not allowed)."""

from __future__ import annotations

import pytest

import trex.sandbox.runner as runner
from trex.aidp.recipe import Recipe, Step
from trex.plan import ConfigSpec, Plan, check_code_steps
from trex.train.config import TrainConfig

CODE = "def keep(row):\n    return len(row['text']) > 3\n"


def _plan(filter_args: dict[str, str]) -> Plan:
    steps = [Step(op="load_local_dataset", args={"path": "rows.jsonl"}), Step(op="select_by_filter", args=filter_args)]
    return Plan(
        strategy="refine_data", rationale="r", change="c", recipe=Recipe(steps=steps[:1]),
        configs=[ConfigSpec(name="plain", train=TrainConfig()),
                 ConfigSpec(name="coded", train=TrainConfig(), recipe=Recipe(steps=steps))],
    )  # fmt: skip


def test_a_code_step_is_refused_where_no_strong_sandbox_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "bwrap_available", lambda: False)
    monkeypatch.setattr(runner, "kernel_walls_available", lambda: False)
    monkeypatch.delenv(runner.WEAK_ENV, raising=False)
    with pytest.raises(ValueError, match=r"config 'coded': step 2 \(select_by_filter\) runs custom code, but no "):
        check_code_steps(_plan({"code": CODE}))
    with pytest.raises(ValueError, match="filter with an expression instead"):
        check_code_steps(_plan({"code": CODE}))
    check_code_steps(_plan({"expression": "len(text) > 3"}))  # an expression needs no sandbox
    monkeypatch.setenv(runner.WEAK_ENV, "1")  # --allow-weak-sandbox
    check_code_steps(_plan({"code": CODE}))


def test_a_code_step_passes_where_a_strong_mode_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "bwrap_available", lambda: False)
    monkeypatch.setattr(runner, "kernel_walls_available", lambda: True)
    monkeypatch.delenv(runner.WEAK_ENV, raising=False)
    check_code_steps(_plan({"code": CODE}))
