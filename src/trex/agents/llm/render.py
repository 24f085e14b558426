"""What the LLM researcher reads of a node: scores with intervals, whole configs, diagnosis, data, bad cases.

Numbers are printed as a person reads them (scores to 3 decimals, with their 95% interval). A node is shown config
by config: every training setting, its own recipe if it has one, its cost (steps, seconds), the rows in and out of
each recipe step, the whole validation diagnosis (error rates by label and length, confusion, predicted share,
group scores, the loss curve) and sampled bad cases of the best config: ``sample_bad_cases`` picks them per
(expected, predicted) pair, or in generate mode the lowest per-example scores. Validation only, never test.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from trex.agents.probes import PROBE_MARK, continues_own_probe
from trex.agents.recipes import balanced_by_metric
from trex.evaluation.diagnostics import Diagnosis
from trex.evaluation.run import BadCase
from trex.plan import BudgetLeft, ConfigOutcome, NodeRecord
from trex.runtime.worker import BADCASES_FILE  # the worker writes every validation error there

BAD_CASES = 6
CURVE_POINTS = 8


def score_text(value: float | None, low: float | None = None, high: float | None = None) -> str:
    if value is None:
        return "no score"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]" if low is not None and high is not None else f"{value:.3f}"


def read_bad_cases(workdir: str | None, fallback: list[BadCase]) -> list[BadCase]:
    """Every validation error of a job from its folder, or ``fallback`` (the result's first ones) without it."""
    path = Path(workdir) / BADCASES_FILE if workdir else None
    if path is None or not path.is_file():
        return list(fallback)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [BadCase.model_validate_json(line) for line in lines if line.strip()]
    except (OSError, ValueError):
        return list(fallback)


def sample_bad_cases(cases: list[BadCase], mode: str, n: int = BAD_CASES, seed: int = 0) -> list[BadCase]:
    """``n`` bad cases: round-robin over (expected, predicted) pairs, largest first (choices), or the lowest
    per-example scores (generate). Deterministic for a seed."""
    if mode == "generate":
        return sorted(cases, key=lambda c: (c.score if c.score is not None else 0.0, c.input))[:n]
    groups: dict[tuple[str, str], list[BadCase]] = defaultdict(list)
    for case in cases:
        groups[(case.expected, case.predicted)].append(case)
    rng = random.Random(seed)
    queues = []
    for key in sorted(groups, key=lambda k: (-len(groups[k]), k)):
        members = list(groups[key])
        rng.shuffle(members)
        queues.append(members)
    picked: list[BadCase] = []
    while len(picked) < n and any(queues):
        for queue in queues:
            if queue and len(picked) < n:
                picked.append(queue.pop())
    return picked


LABELS_SHOWN = 12  # per-label lines list at most this many labels (a generate task has an answer per row)
LABEL_CHARS = 60  # and each label to this many characters


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 3] + "..."


def _most_first(values: dict[str, int] | dict[str, float]) -> list[str]:
    return sorted(values, key=lambda k: (-values[k], k))


def _listed(values: dict[str, int] | dict[str, float], spec: str, order: list[str] | None = None) -> str:
    """``label value`` pairs (value formatted by ``spec``) in ``order``, at most ``LABELS_SHOWN`` of them, labels cut
    to ``LABEL_CHARS``; "" for none."""
    keys = [k for k in (order or list(values)) if k in values]
    shown = ", ".join(f"{_label(k)} {values[k]:{spec}}" for k in keys[:LABELS_SHOWN])
    return shown + (f" (+{len(keys) - LABELS_SHOWN} more labels)" if len(keys) > LABELS_SHOWN else "")


def _counts(counts: dict[str, int]) -> str:
    """``label count`` pairs, most frequent first, bounded as the rates are."""
    return _listed(counts, "", _most_first(counts))


def _rates(values: dict[str, float], order: list[str] | None = None) -> str:
    """``label rate`` pairs, in ``order`` (the most frequent labels first) and at most ``LABELS_SHOWN`` of them."""
    return _listed(values, ".2f", order) or "n/a"


def diagnosis_text(d: Diagnosis, groups: dict[str, float] | None = None) -> list[str]:
    """The validation diagnosis in a bounded number of lines and labels, whatever the number of distinct answers."""
    by_support = _most_first(d.support_by_label)
    lines = [
        f"validation rows {d.n}; support by label: {_listed(d.support_by_label, '', by_support)}",
        f"error rate by label: {_rates(d.error_rate_by_label, by_support)}",
        f"error rate by input length (terciles): {_rates(d.error_rate_by_length)}",
        f"predicted share: {_rates(d.predicted_share, _most_first(d.predicted_share))}",
    ]
    if len(d.confusion) <= LABELS_SHOWN:
        cells = "; ".join(f"{ref} -> {dict(sorted(row.items()))}" for ref, row in sorted(d.confusion.items()))
        lines.append(f"confusion (reference -> predicted counts): {cells}")
    else:
        errors = [(n, ref, pred) for ref, row in d.confusion.items() for pred, n in row.items() if pred != ref]
        top = sorted(errors, key=lambda e: (-e[0], e[1], e[2]))[:8]
        cells = "; ".join(f"{_label(ref)!r} -> {_label(pred)!r} {n}" for n, ref, pred in top)
        lines.append(f"most frequent confusions (of {len(d.confusion)} labels): {cells or 'none'}")
    if groups:
        lines.append(f"score by group: {_rates(groups)}")
    return lines


def curve_text(losses: list[tuple[int, float]]) -> str:
    if not losses:
        return "no loss curve"
    stride = max(1, len(losses) // CURVE_POINTS)
    points = losses[::stride]
    if points[-1] != losses[-1]:
        points.append(losses[-1])
    return ", ".join(f"{step}: {loss:.3f}" for step, loss in points)


def data_text(outcome: ConfigOutcome) -> list[str]:
    if not outcome.data_stats:
        return []
    steps = "; ".join(
        f"{s.step} {s.op} {s.rows_in}->{s.rows_out}" + (f" ({s.reason})" if s.dropped else "")
        for s in outcome.data_stats
    )
    pool = outcome.data_stats[0].rows_out
    labels = f" (completions: {_counts(outcome.sample_labels)})" if outcome.sample_labels else ""
    built = next((s for s in reversed(outcome.data_stats) if s.sources), None)  # a training set built by its recipe
    origin = f"; built: rows by source {built.sources}, by label {built.labels}" if built is not None else ""
    return [
        f"data: pool {pool} rows, trained on {outcome.train_rows} rows{labels}; steps (rows in->out): {steps}{origin}"
    ]


def config_text(outcome: ConfigOutcome, record: NodeRecord) -> list[str]:
    spec = next((c for c in record.plan.configs if c.name == outcome.name), None)
    cost = f"{outcome.steps} steps, {outcome.seconds:.0f} s" if outcome.seconds is not None else "cost unknown"
    probe = next((o for o in record.outcomes if o.name == outcome.name + PROBE_MARK), None)
    planned = outcome.train.max_steps if outcome.train is not None and not outcome.train.epochs else 0
    if probe is not None and continues_own_probe(outcome.name, outcome.train, {probe.name: probe.job_hash}):
        cost += f" after its probe's {probe.steps} (promoted: {planned} steps planned in all)"
    elif outcome.steps is not None and 0 < outcome.steps < planned:
        cost += f" (stopped at {outcome.steps} of {planned} planned steps: fitted to the time it had)"
    head = f"config {outcome.name} [job {outcome.job_hash}, {spec.source if spec else 'researcher'}]"
    lines = [f"{head}: {outcome.status}, val {score_text(outcome.val_score, outcome.val_low, outcome.val_high)}"]
    lines.append(f"  cost: {cost}")
    if outcome.train is not None:
        lines.append(f"  train: {outcome.train.model_dump_json()}")
    if spec is not None and spec.recipe is not None:
        lines.append(f"  own recipe: {spec.recipe.model_dump_json()}")
    if spec is not None and spec.cut:
        lines.append(f"  cut by trex: {spec.cut}")
    if outcome.error:
        lines.append(f"  error: {outcome.error[:500]}")
    lines += [f"  {line}" for line in data_text(outcome)]
    if outcome.diagnosis is not None:
        lines += [f"  {line}" for line in diagnosis_text(outcome.diagnosis, outcome.val_groups)]
    if outcome.losses or outcome.first_loss is not None:
        lines.append(f"  training loss by step: {curve_text(outcome.losses)}")
    return lines


def node_text(record: NodeRecord, mode: str, seed: int = 0, bad_cases: bool = True) -> str:
    """The node whole: summary, shared recipe, every config, the best config's sampled bad cases (unless cut)."""
    lines = [f"node {record.id} ({record.strategy}, val {score_text(record.val_score)}): {record.summary}"]
    lines.append(f"shared recipe: {record.plan.recipe.model_dump_json()}")
    for outcome in record.outcomes:
        lines += config_text(outcome, record)
    best = record.best()
    if best is not None and best.bad_cases and not bad_cases:
        lines.append("bad cases: left out (the prompt did not fit the model's context)")
    elif best is not None and best.bad_cases:
        lines.append(f"bad cases of the best config {best.name} (sampled from its validation errors):")
        for case in sample_bad_cases(best.bad_cases, mode, seed=seed):
            score = f", score {case.score:.2f}" if mode == "generate" and case.score is not None else ""
            group = f", group {case.group}" if case.group else ""
            lines.append(
                f"  - input {case.input[:300]!r} expected {case.expected[:200]!r} "
                f"predicted {case.predicted[:200]!r}{score}{group}"
            )
    return "\n".join(lines)


def siblings_text(siblings: list[NodeRecord], detail: bool = True) -> str:
    """The other children of the parent: a line each, and with ``detail`` every config with its score and the
    training settings it changed from the defaults."""
    if not siblings:
        return "none yet"
    lines = []
    for record in siblings:
        state = "in flight" if record.status == "running" else f"val {score_text(record.val_score)}"
        lines.append(f"- node {record.id} ({record.strategy}, {state}): {record.summary or record.plan.change}")
        for outcome in record.outcomes if detail else []:
            score = score_text(outcome.val_score, outcome.val_low, outcome.val_high)
            train = outcome.train.model_dump_json(exclude_defaults=True) if outcome.train is not None else "untrained"
            spec = next((c for c in record.plan.configs if c.name == outcome.name), None)
            cut = f" (cut by trex: {spec.cut})" if spec is not None and spec.cut else ""
            lines.append(f"    {outcome.name}: {outcome.status}, val {score}, train {train}{cut}")
    return "\n".join(lines)


def in_flight_text(records: list[NodeRecord]) -> str:
    """The nodes running elsewhere in the tree, one line each: where, what they change, their configs."""
    lines = []
    for r in records:
        configs = ", ".join(
            f"{c.name} (lr {c.train.learning_rate:g}, {c.train.max_steps} steps)" for c in r.plan.configs
        )
        lines.append(f"- node {r.id} (child of node {r.parent}, {r.strategy}): {r.plan.change}; configs {configs}")
    return "\n".join(lines) or "none"


def budget_text(budget: BudgetLeft, configs: int = 1) -> str:
    """The budget left, and in steps: the measured step cost, the job timeout and the cap each config will get."""
    nodes = f"{budget.nodes} nodes" if budget.nodes is not None else "no node limit"
    time = f"{budget.seconds / 60:.1f} minutes" if budget.seconds is not None else "no time limit"
    text = f"{nodes} and {time} left"
    timeout = f"the job timeout is {budget.job_timeout_s / 60:g} minutes" if budget.job_timeout_s else "no job timeout"
    if not budget.step_s:
        return f"{text}; {timeout}; no training step measured yet (steps are capped once one is)."
    rows = f" of {budget.step_rows:g} rows (batch x accumulation)" if budget.step_rows else ""
    fixed = f", plus {budget.job_fixed_s:.0f} s a job for loading and scoring" if budget.job_fixed_s else ""
    text += f". Measured: {budget.step_s:.2f} s a training step{rows}{fixed}; {timeout}"
    cap = budget.step_cap(configs)
    if cap is None:
        return text + "."
    return (
        f"{text}. Each config will get at most {cap[0]} steps ({cap[1]}); a step of more rows gets proportionally "
        "fewer, and trex cuts a config planned longer."
    )


def eval_format_text(ev: Any) -> str:
    """How the evaluation scores a model (``EvalConfig``): the shape every training row must have."""
    chat = "yes: the prompt is the user turn of the model's chat template" if ev.chat_template else "no (plain text)"
    lines = [
        f"prompt template: {ev.prompt_template!r} (input field {ev.input_field!r}, label field {ev.label_field!r})",
        f"chat template: {chat}",
    ]
    if ev.mode == "choices":
        lines.append(
            f"mode choices: the score picks the completion after the prompt with the highest log-likelihood among "
            f"the choice texts (label -> text) {ev.choices}"
        )
        if balanced_by_metric(ev):  # the heuristic's baseline draws it: the LLM should know why
            lines.append(f"metric {ev.metric} weighs every label the same: a label-balanced sample suits it")
    else:
        pattern = f", answer extracted by {ev.answer_pattern!r}" if ev.answer_pattern else ""
        lines.append(f"mode generate: the model writes up to {ev.max_new_tokens} tokens after the prompt{pattern}")
    style = "chat" if ev.chat_template else "completion"
    lines.append(
        f"A format_for_training step must give the same shape: this prompt_template (the columns may be named "
        f"otherwise), style {style!r}, and completions that are "
        + ("the choice texts (e.g. completion_template '{" + ev.label_field + "}' with label_map = the choices)."
           if ev.mode == "choices" else "the label (e.g. completion_template ' {" + ev.label_field + "}').")
        + " A plan that does not is rejected."
    )  # fmt: skip
    return "\n".join(lines)


def pool_text(task: Any) -> str:
    """The training pool as loaded: its size and label distribution."""
    from trex.aidp.operators import LoadLocalParams, load_local_dataset

    try:
        pool = load_local_dataset(None, LoadLocalParams(path=str(task.train_data)))
    except Exception as exc:  # noqa: BLE001 - a profile is context, never a reason to stop
        return f"{task.train_data} (not readable here: {type(exc).__name__})"
    label = task.eval.label_field
    text = f"{task.train_data}: {len(pool)} rows, columns {pool.column_names}"
    if label in pool.column_names:
        counts = Counter(str(v) for v in pool[label])
        if len(counts) <= 20:
            text += f"; labels {dict(counts.most_common())}"
        else:
            text += f"; {len(counts)} distinct {label} values"
    return text + ". Each config trains on the sample its recipe draws from this pool (max_steps x batch rows)."


def suggestions_text(proposals: list[Any], k: int) -> str:
    """The surrogate's proposals (TrainConfigs, best guess first); trex adds the first itself, the LLM writes ``k``."""
    if not proposals:
        return "too few finished jobs for proposals yet."
    lines = [f"  {i + 1}. {p.model_dump_json(exclude_defaults=True)}" for i, p in enumerate(proposals)]
    return (
        "its proposals for the next configs, best guess first:\n" + "\n".join(lines) + "\n"
        f"trex adds proposal 1 itself as config 'surrogate-1' (the plan's shared recipe), so write the "
        f"other {k}; the other proposals are suggestions you may use or not."
    )
