"""Node diagnosis without an LLM: which config won, by how much, and where its errors are.

``diagnose_node`` turns a node's job results into its verdict: the best job (by validation
score; the base-model evaluation competes too, so a root whose training failed still scores),
a one-line headline, and insight text comparing configs, parent and base model. Only the
winner's test score is reported, and it goes to the store and the report, never to the agents.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from trex.agents.llm.render import score_text
from trex.evaluation.ranking import best_config
from trex.plan import BASELINE
from trex.runtime.job import JobResult


class Verdict(BaseModel):
    best: str | None  # job hash
    val_score: float | None
    test_score: float | None
    headline: str
    insights: str
    error: str | None = None


def diagnose_node(
    results: list[tuple[str, JobResult]], parent_val: float | None, base: dict[str, Any] | None
) -> Verdict:
    # candidates: trained configs with a score (the root's untrained baseline is a reference, not a config)
    ok = [(name, r) for name, r in results if r.status == "ok" and r.val_score is not None and name != BASELINE]
    failed = [(name, r) for name, r in results if r.status != "ok"]
    failures = [f"{name}: {r.error_class}: {r.error}" for name, r in failed]
    if not ok:
        return Verdict(
            best=None,
            val_score=None,
            test_score=None,
            headline=f"all {len(results)} jobs failed",
            insights="\n".join(failures),
            error="; ".join(failures)[:1000] or "no job produced a score",
        )
    name, best = best_config(ok, lambda item: item[1].val_score, lambda item: _last_loss(item[1]))
    val = best.val_score or 0.0
    lines = [f"best config {name}: val {_scored(best)}"]
    for other, r in sorted(ok, key=lambda item: -(item[1].val_score or 0.0))[1:]:
        lines.append(f"config {other}: val {_scored(r)} ({(r.val_score or 0.0) - val:+.3f} vs best)")
    if parent_val is not None:
        lines.append(f"vs parent: {val - parent_val:+.3f}")
    if base and base.get("val") is not None:
        lines.append(f"vs base model: {val - base['val']:+.3f}")
    diagnosis = best.validation.diagnosis if best.validation else None
    if diagnosis is not None:
        rates = ", ".join(f"{k} {v:.2f}" for k, v in diagnosis.error_rate_by_label.items())
        lines.append(f"error rate by label: {rates}")
        lengths = ", ".join(f"{k} {v:.2f}" for k, v in diagnosis.error_rate_by_length.items())
        lines.append(f"error rate by input length: {lengths}")
    decontaminated = [s for s in best.data_stats if s.op == "decontaminate" and s.dropped]
    for s in decontaminated:
        lines.append(
            f"decontamination dropped {s.dropped} of {s.rows_in} training rows (overlap with validation/test)"
        )
    if best.train and best.train.losses:
        first, last = best.train.losses[0][1], best.train.losses[-1][1]
        lines.append(f"training loss {first:.3f} -> {last:.3f} over {best.train.steps} steps")
    lines.extend(f"failed {f}" for f in failures)
    delta = f" ({val - parent_val:+.3f} vs parent)" if parent_val is not None else ""
    return Verdict(
        best=best.job_hash,
        val_score=val,
        test_score=best.test_score,
        headline=f"val {val:.3f} by {name}{delta}" + (f", {len(failed)} failed" if failed else ""),
        insights="\n".join(lines),
    )


def _scored(result: JobResult) -> str:
    """A validation score as a person reads it: 3 decimals and its 95% interval."""
    score = result.validation.score if result.validation else None
    return score_text(score.value, score.low, score.high) if score else "no score"


def _last_loss(result: JobResult) -> float | None:
    return result.train.losses[-1][1] if result.train and result.train.losses else None
