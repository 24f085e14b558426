"""``generate_dataset_with_llm``: new input/output rows written by an LLM, through the cached client.

Two modes:

- few-shot (the default): each request shows seeded samples of the input rows; the input rows are kept
  beside the new ones (``keep_input``);
- from scratch (``from_scratch: true``): no input row is ever shown. Each request gets the instruction, the
  evaluation prompt the rows will be formatted into (``prompt_format``), the label set (``labels``: the output
  column may take no other value, and the requests go round the labels so every label gets rows) and a few
  examples given with the step (``examples``, from the task file: never validation or test rows). Such a step
  may start a recipe; after a loader it keeps the loaded rows beside the new ones.

Every output row says where it came from in a ``source`` column (generated rows: ``synthetic``; kept rows: their
own ``source``, or ``input``) and carries ``synthetic``. A generated row equal to a kept row or to another generated
row (case and surrounding space aside) is dropped. A rerun with the same seed costs nothing (replies are cached by
prompt); the requests differ by their batch number, so equal requests are not one cached answer repeated.
Guarantee: the LLM sees only what the step's arguments hold. Not guaranteed: that the rows are correct; trex's
decontamination step, placed after this one in a training recipe, drops rows that copy the evaluation data.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from datasets import Dataset
from pydantic import Field, create_model

from trex.aidp.llm_cache import LLM_DOC, LLMRef, llm_name, map_with_llm
from trex.aidp.registry import OperatorError, Params, need, need_columns, operator
from trex.aidp.scorers import llm_prompts

SYNTHETIC = "synthetic"  # the source of a generated row


class GenerateParams(Params):
    instruction: str = Field(description="what the examples are for, e.g. 'movie review -> fresh or rotten'")
    input_column: str = "text"
    output_column: str = "label"
    n: int = Field(ge=1, description="rows to generate")
    examples_per_call: int = Field(default=4, ge=1, le=20, description="seed rows shown in each request")
    rows_per_call: int = Field(default=4, ge=1, le=20)
    llm: LLMRef = Field(description=LLM_DOC)
    seed: int = 0
    keep_input: bool = Field(default=True, description="keep the seed rows in the output")
    workers: int = Field(default=4, ge=1, le=64)
    from_scratch: bool = Field(
        default=False,
        description="write rows without showing any input row (may start a recipe): from the instruction, "
        "prompt_format, labels and examples",
    )
    labels: list[str] | None = Field(default=None, description="from scratch: the only values of the output column")
    prompt_format: str | None = Field(default=None, description="from scratch: the prompt the rows will be put in")
    examples: list[dict[str, Any]] = Field(default_factory=list, description="from scratch: a few example rows")


def _needs(p: GenerateParams) -> list[str]:
    return [] if p.from_scratch else [p.input_column, p.output_column]


def _output(p: GenerateParams, columns: list[str]) -> list[str]:
    return [p.input_column, p.output_column, "synthetic", "source"]


def _shown(p: GenerateParams, rows: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"- {p.input_column}: {r.get(p.input_column)!s}\n  {p.output_column}: {r.get(p.output_column)!s}" for r in rows
    )


def _request(p: GenerateParams, examples: list[dict[str, Any]], count: int, label: str | None, batch: int) -> str:
    """The user message of one request."""
    prompts = llm_prompts()
    if not p.from_scratch:
        return prompts["generate_user"].format(
            instruction=p.instruction, examples=_shown(p, examples), count=count,
            input_column=p.input_column, output_column=p.output_column,
        )  # fmt: skip
    return prompts["generate_scratch_user"].format(
        instruction=p.instruction,
        prompt_format=p.prompt_format or f"{{{p.input_column}}}",
        labels=", ".join(p.labels) if p.labels else "any",
        examples=_shown(p, examples) or "(none given)",
        count=count,
        label=f"Every example's {p.output_column} is {label!r}." if label is not None else "",
        batch=batch,
        input_column=p.input_column,
        output_column=p.output_column,
    )


def _call(client: Any, p: GenerateParams, call: tuple[list[dict[str, Any]], int, str | None, int]) -> list[dict]:
    from trex.llm.client import LLMError
    from trex.llm.structured import structured

    examples, count, label, batch = call
    output: Any = Literal[tuple(p.labels)] if p.labels else str  # type: ignore[valid-type]
    item = create_model("Item", **{p.input_column: (str, ...), p.output_column: (output, ...)})
    answer = create_model("Batch", items=(list[item], ...))  # type: ignore[valid-type]
    system = llm_prompts()["generate_system"]
    messages = [{"role": "system", "content": system}, {"role": "user", "content": _request(p, *call)}]
    try:
        return [i.model_dump() for i in structured(client, messages, answer).items[:count]]  # type: ignore[attr-defined]
    except LLMError:
        return []


def _calls(p: GenerateParams, rows: list[dict[str, Any]]) -> list[tuple[list[dict[str, Any]], int, str | None, int]]:
    """(examples shown, rows asked, label asked or None, batch number) for every request."""
    rng = np.random.default_rng(p.seed)
    calls = []
    for batch, start in enumerate(range(0, p.n, p.rows_per_call)):
        count = min(p.rows_per_call, p.n - start)
        if p.from_scratch:
            label = p.labels[batch % len(p.labels)] if p.labels else None
            calls.append((p.examples[: p.examples_per_call], count, label, batch + 1))
            continue
        picked = rng.choice(len(rows), size=min(p.examples_per_call, len(rows)), replace=False)
        calls.append(([rows[i] for i in sorted(picked)], count, None, batch + 1))
    return calls


@operator("generate_dataset_with_llm", "generator", GenerateParams, needs=_needs, output=_output,
          starts=lambda p: p.from_scratch)  # fmt: skip
def generate_dataset_with_llm(ds: Dataset | None, p: GenerateParams) -> Dataset:
    """Write n new rows with an LLM: from seeded few-shot samples of the input rows, or from_scratch from the
    instruction, the prompt format, the labels and a few given examples (cached; deterministic per seed)."""
    if not p.from_scratch:
        ds = need(ds, "generate_dataset_with_llm")
        need_columns(ds, [p.input_column, p.output_column], "generate_dataset_with_llm")
        if len(ds) == 0:
            raise OperatorError("generate_dataset_with_llm: no seed rows to show the LLM")
    elif ds is not None:
        need_columns(ds, [p.input_column, p.output_column], "generate_dataset_with_llm")
    kept_columns = [
        p.input_column,
        p.output_column,
        *(["source"] if ds is not None and "source" in ds.column_names else []),
    ]
    rows = ds.select_columns(kept_columns).to_list() if ds is not None else []
    results = map_with_llm(p.llm, p.workers, lambda client, call: _call(client, p, call), _calls(p, rows))
    seen = {str(r[p.input_column]).strip().lower() for r in rows}
    generated = []
    for items in results:
        for item in items:
            key = str(item[p.input_column]).strip().lower()
            if key and key not in seen:  # never a copy of a kept row or of another generated row
                seen.add(key)
                generated.append({**item, "synthetic": True, "source": SYNTHETIC})
    if not generated:
        raise OperatorError(f"generate_dataset_with_llm: the LLM ({llm_name(p.llm)}) produced no usable row")
    kept = [{**r, "synthetic": False, "source": str(r.get("source") or "input")} for r in rows] if p.keep_input else []
    return Dataset.from_list(kept + generated)
