"""Model cards: the README.md that goes with an exported model (base model, recipe, config, scores).

Text from the task (name, objective, prompt) is HTML-escaped: a Hub page or a Markdown viewer renders
raw HTML in a README, so a ``<script>`` in an objective must arrive as text. Code blocks get a fence
longer than any run of backticks inside them.
"""

from __future__ import annotations

import html
import json
import re

import yaml

from trex.runtime.job import Job, JobResult


def _score(result: JobResult, split: str) -> str:
    part = getattr(result, split)
    if part is None:
        return "–"
    s = part.score
    return f"{s.value:.4f} (95% CI {s.low:.3f}–{s.high:.3f}, n={s.n})"


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def model_card(task_name: str, objective: str, node_id: int, job: Job, result: JobResult, what: str) -> str:
    front = {"base_model": job.base_model, "library_name": "transformers", "tags": ["trex", "fine-tuned"]}
    recipe = yaml.safe_dump(job.recipe.model_dump(), sort_keys=False) if job.recipe else "(none: base model as is)"
    train = json.dumps(job.train.model_dump(), indent=1) if job.train else "(none)"
    prompt = html.escape(repr(job.eval.prompt_template)).replace("`", "&#96;")
    recipe_fence, train_fence = _fence(recipe), _fence(train)
    return f"""---
{yaml.safe_dump(front, sort_keys=False).strip()}
---
# {html.escape(task_name)}: node {node_id}

{html.escape(objective)}

Exported by trex: {what}. Job `{job.content_hash()}`, seed {job.seed}.

## Scores ({job.eval.metric})

| split | score |
|---|---|
| validation | {_score(result, "validation")} |
| test | {_score(result, "test")} |

## Data recipe

{recipe_fence}yaml
{recipe}{recipe_fence}

## Training config

{train_fence}json
{train}
{train_fence}

## Evaluation

Prompt template: <code>{prompt}</code>, mode `{job.eval.mode}`.
"""
