"""AIDP transforms: training formats and mixtures of sources.

``format_for_training`` turns rows into the prompt/completion pairs (or chat ``messages``) SFT
trains on, from format-string templates over the columns. ``mix_datasets`` draws a seeded mixture
of the input rows and other sources by ratio, with a ``source`` column saying where each row
came from; sources must share the columns the mixture keeps.
"""

from __future__ import annotations

import string
from typing import Any, Literal

import numpy as np
from datasets import Dataset, concatenate_datasets
from pydantic import BaseModel, ConfigDict, Field

from trex.aidp.loaders import LoadLocalParams, load_local_dataset
from trex.aidp.registry import OperatorError, Params, need, need_columns, operator


def template_fields(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


class FormatParams(Params):
    prompt_template: str = Field(description="format string over columns, e.g. 'Review: {text}\\nAnswer:'")
    completion_template: str = Field(description="format string over columns, e.g. ' {label}'")
    label_map: dict[str, str] | None = Field(
        default=None, description="replace the 'label' field by this mapping before formatting"
    )
    label_field: str = "label"
    style: Literal["completion", "chat"] = Field(
        default="completion", description="prompt/completion columns, or chat 'messages' (user, assistant)"
    )


def _format_output(p: FormatParams, columns: list[str]) -> list[str]:
    return ["messages"] if p.style == "chat" else ["prompt", "completion"]


@operator(
    "format_for_training",
    "transform",
    FormatParams,
    needs=lambda p: template_fields(p.prompt_template) + template_fields(p.completion_template),
    output=_format_output,
)
def format_for_training(ds: Dataset | None, p: FormatParams) -> Dataset:
    """Turn rows into prompt/completion pairs (or chat messages) from two templates: what SFT trains on."""
    ds = need(ds, "format_for_training")
    need_columns(
        ds, template_fields(p.prompt_template) + template_fields(p.completion_template), "format_for_training"
    )

    def fmt(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        rows = [dict(zip(batch, values, strict=True)) for values in zip(*batch.values(), strict=True)]
        if p.label_map is not None:
            for row in rows:
                if p.label_field in row:
                    row[p.label_field] = p.label_map.get(str(row[p.label_field]), row[p.label_field])
        prompts = [p.prompt_template.format(**row) for row in rows]
        completions = [p.completion_template.format(**row) for row in rows]
        if p.style == "chat":
            return {
                "messages": [
                    [{"role": "user", "content": q}, {"role": "assistant", "content": a.strip()}]
                    for q, a in zip(prompts, completions, strict=True)
                ]
            }
        return {"prompt": prompts, "completion": completions}

    return ds.map(fmt, batched=True, remove_columns=ds.column_names)


class MixSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="a local file (as load_local_dataset reads it)")
    ratio: float = Field(gt=0, description="relative share of the mixture")
    name: str | None = Field(default=None, description="value of the 'source' column (default: the path)")


class MixParams(Params):
    sources: list[MixSource] = Field(min_length=1, description="other datasets and their shares")
    input_ratio: float = Field(default=1.0, ge=0, description="share of the input rows (0: only the sources)")
    n: int | None = Field(default=None, ge=1, description="rows of the mixture (default: as many as the ratios allow)")
    seed: int = 0


def _mix_output(p: MixParams, columns: list[str]) -> list[str]:
    return [*columns, *(["source"] if "source" not in columns else [])]


@operator("mix_datasets", "transform", MixParams, output=_mix_output)
def mix_datasets(ds: Dataset | None, p: MixParams) -> Dataset:
    """Mix the input rows with other datasets by ratio (seeded, without replacement); adds a 'source' column."""
    ds = need(ds, "mix_datasets")
    parts: list[tuple[str, Dataset, float]] = []
    if p.input_ratio > 0:
        parts.append(("input", ds, p.input_ratio))
    for source in p.sources:
        other = load_local_dataset(None, LoadLocalParams(path=source.path))
        missing = [c for c in ds.column_names if c not in other.column_names and c != "source"]
        if missing:
            raise OperatorError(f"mix_datasets: {source.path} lacks column(s) {missing} (has {other.column_names})")
        parts.append(
            (
                source.name or source.path,
                other.select_columns([c for c in ds.column_names if c != "source"]),
                source.ratio,
            )
        )
    total_ratio = sum(r for _, _, r in parts)
    # the largest mixture the ratios allow without drawing a row twice
    limit = min(int(len(d) * total_ratio / r) for _, d, r in parts)
    n = min(p.n or limit, limit)
    if n == 0:
        raise OperatorError("mix_datasets: a source is empty, so no mixture can keep the ratios")
    rng = np.random.default_rng(p.seed)
    chosen = []
    for name, part, ratio in parts:
        take = int(round(n * ratio / total_ratio))
        picked = part.select(np.sort(rng.permutation(len(part))[:take]))
        if "source" in picked.column_names:
            picked = picked.remove_columns("source")
        chosen.append(picked.add_column("source", [name] * len(picked)))
    return concatenate_datasets(chosen)
