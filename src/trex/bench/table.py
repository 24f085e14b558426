"""``bench.md``, ``bench.html`` and ``bench.json`` for FT-Bench runs: the gain table and Table 4.

The gain table holds, per task, the base model's and the best node's test scores measured by the
run, the reference (measured with ``--reference-model`` on the same test split, or given with
``--reference-score``), the normalized gain against that reference, and the paper's Table 3 scores
in columns labelled as the paper's (they were measured on the paper's splits, so no gain is
computed from them). Beside it, Table 4: strategies (search nodes) attempted, succeeded and
improved, per task and in total, and per strategy type in the paper's shape (``strategy_table``), from each
run's tree.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from trex.bench.run import BenchRow

HEAD = (
    "task",
    "metric",
    "base (run)",
    "best (run)",
    "reference (run)",
    "normalized gain",
    "paper: reference",
    "paper: base",
    "attempted",
    "succeeded",
    "improved",
)


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _cells(r: BenchRow) -> list[str]:
    gain = _cell(r.gain) if r.error is None else f"error: {r.error.splitlines()[0][:120]}"
    s = r.strategies
    return [
        r.name,
        r.metric,
        _cell(r.base),
        _cell(r.best),
        _cell(r.reference),
        gain,
        _cell(r.paper_reference),
        _cell(r.paper_base),
        str(s.attempted),
        str(s.succeeded),
        str(s.improved),
    ]


def markdown_table(rows: list[BenchRow]) -> str:
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in _cells(r)) + " |" for r in rows]
    totals = [sum(getattr(r.strategies, k) for r in rows) for k in ("attempted", "succeeded", "improved")]
    lines.append("| total | | | | | | | | " + " | ".join(map(str, totals)) + " |")
    refs = sorted({f"{r.name}: {r.reference_from}" for r in rows if r.reference_from})
    lines += [
        "",
        "Test-split scores. Normalized gain = (best - base) / (reference - base), with base, best and reference",
        "measured on the same test split (no reference, no gain). References: " + ("; ".join(refs) or "none") + ".",
        "The paper's columns are its Table 3 (Qwen3-235B-2507, Qwen3-1.7B) on its own splits: not comparable.",
        "attempted / succeeded / improved (the paper's Table 4): search nodes created, finished with a score, and",
        "scoring above their parent on validation (the root: above the base model), from each run's tree.",
        "",
        *strategy_table(rows),
    ]
    return "\n".join(lines) + "\n"


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def strategy_table(rows: list[BenchRow]) -> list[str]:
    """The paper's Table 4: per strategy type, over every task, nodes attempted, succeeded and improved, with the
    success rate (succeeded / attempted) and the improvement rate (improved / succeeded)."""
    totals: dict[str, list[int]] = {}
    for r in rows:
        for name, c in r.by_strategy.items():
            total = totals.setdefault(name, [0, 0, 0])
            for i, value in enumerate((c.attempted, c.succeeded, c.improved)):
                total[i] += value
    lines = [
        "Table 4: strategies over all tasks",
        "",
        "| strategy | attempted | succeeded | improved | success rate | improvement rate |",
        "|---|---|---|---|---|---|",
    ]
    for name, (attempted, succeeded, improved) in totals.items():
        lines.append(
            f"| {name} | {attempted} | {succeeded} | {improved} | {_rate(succeeded, attempted)} | "
            f"{_rate(improved, succeeded)} |"
        )
    a, s, i = (sum(t[k] for t in totals.values()) for k in range(3))
    lines.append(f"| total | {a} | {s} | {i} | {_rate(s, a)} | {_rate(i, s)} |")
    return lines


def html_table(rows: list[BenchRow]) -> str:
    """A self-contained page with the same table, each task linking to its run's report."""
    body = []
    for r in rows:
        cells = [html.escape(c) for c in _cells(r)]
        if r.run_dir:
            cells[0] = f'<a href="{html.escape(r.name)}/run/report.html">{cells[0]}</a>'
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEAD)
    return (
        "<!doctype html><meta charset='utf-8'><title>trex FT-Bench</title>"
        "<style>body{font:14px sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px 8px}"
        "table{border-collapse:collapse}</style><h1>FT-Bench</h1>"
        f"<table><tr>{head}</tr>{''.join(body)}</table>"
    )


def write_tables(workspace: Path, rows: list[BenchRow]) -> tuple[Path, Path]:
    workspace.mkdir(parents=True, exist_ok=True)
    md, page = workspace / "bench.md", workspace / "bench.html"
    md.write_text(markdown_table(rows), encoding="utf-8")
    page.write_text(html_table(rows), encoding="utf-8")
    (workspace / "bench.json").write_text(json.dumps([r.model_dump() for r in rows], indent=1), encoding="utf-8")
    return md, page
