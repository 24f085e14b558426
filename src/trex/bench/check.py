"""Check a task's preparer on real source files: what ``trex bench check`` and the fixture tests run.

``check_task`` prepares the task's splits (no train where it has no training split) from a local copy of
the source (or the packaged fixture) and reports the split sizes, the gold answers' score when they are
given as the predictions (through the task's answer extraction and metric: 1.0 unless the benchmark's own metric says
otherwise), the labels seen (the label set of a classification task, the label shapes of others),
and for generate tasks the reference length in estimated tokens, so that ``max_new_tokens`` is
chosen from data. Nothing is trained or generated.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from trex.bench.run import prepare_rows
from trex.bench.spec import BenchTask
from trex.evaluation.intervals import score_with_interval

_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


class CheckReport(BaseModel):
    task: str
    splits: dict[str, int]
    gold_score: dict[str, float]
    labels: list[str]
    distinct_labels: int
    reference_tokens: dict[str, int] | None = None
    max_new_tokens: int | None = None


def estimated_tokens(text: str) -> int:
    """A BPE token count estimate: ~1.5 CJK characters or ~4 other characters a token (Qwen's tokenizer)."""
    cjk = len(_CJK.findall(text))
    return round(cjk / 1.5 + (len(text) - cjk) / 4)


def _percentile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _label_shape(label: str) -> str:
    return re.sub(r"\d+", "N", label[:12]) if len(label) > 12 else label


def gold_score(task: BenchTask, rows: list[dict[str, Any]]) -> float | None:
    """The task's metric with each row's label as its own prediction (None where labels are checks, not answers)."""
    cfg = task.task["eval"]
    if task.prepare == "tomg":
        return None
    labels = [str(r["label"]) for r in rows]
    preds = labels
    if cfg.get("answer_pattern"):
        preds = [m.group(1) if (m := re.search(cfg["answer_pattern"], lab)) else "" for lab in labels]
    groups = [str(r.get(cfg["group_field"], "")) for r in rows] if cfg.get("group_field") else None
    score = score_with_interval(cfg["metric"], preds, labels, 1, 0, groups, cfg.get("group_metrics"))
    return score.value


def check_task(task: BenchTask, source_dir: Path | None = None, fixtures: bool = False) -> CheckReport:
    prepared = {split: prepare_rows(task, split, fixtures, source_dir) for split in task.splits}
    evaluation = prepared["validation"] + prepared["test"]
    golds = {s: gold_score(task, prepared[s]) for s in ("validation", "test")}
    counts = Counter(_label_shape(str(r["label"])) for r in evaluation)
    report = CheckReport(
        task=task.name,
        splits={s: len(rows) for s, rows in prepared.items()},
        gold_score={s: round(v, 4) for s, v in golds.items() if v is not None},
        labels=[label for label, _ in counts.most_common(12)],
        distinct_labels=len(counts),
    )
    if task.task["eval"].get("mode") == "generate":
        lengths = [estimated_tokens(str(r["label"])) for r in evaluation]
        p95 = _percentile(lengths, 0.95)
        report.reference_tokens = {"p50": _percentile(lengths, 0.5), "p95": p95, "max": max(lengths)}
        report.max_new_tokens = max(16, 1 << (int(p95 * 1.25) - 1).bit_length())  # headroom, a power of two
    return report


def main(argv: list[str]) -> int:
    """``python -m trex.bench.check TASK DIR``: print the check report of TASK on the source copy DIR."""
    from trex.bench.spec import load_bench_task

    report = check_task(load_bench_task(argv[0]), Path(argv[1]) if len(argv) > 1 else None, len(argv) == 1)
    print(json.dumps(report.model_dump(), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
