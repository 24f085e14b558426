"""Model cards: the README.md that goes with an exported model (base model, recipe, config, scores)."""

from __future__ import annotations

import json

import yaml

from trex.runtime.job import Job, JobResult


def _score(result: JobResult, split: str) -> str:
    part = getattr(result, split)
    if part is None:
        return "–"
    s = part.score
    return f"{s.value:.4f} (95% CI {s.low:.3f}–{s.high:.3f}, n={s.n})"


def model_card(task_name: str, objective: str, node_id: int, job: Job, result: JobResult, what: str) -> str:
    front = {"base_model": job.base_model, "library_name": "transformers", "tags": ["trex", "fine-tuned"]}
    recipe = yaml.safe_dump(job.recipe.model_dump(), sort_keys=False) if job.recipe else "(none: base model as is)"
    train = json.dumps(job.train.model_dump(), indent=1) if job.train else "(none)"
    return f"""---
{yaml.safe_dump(front, sort_keys=False).strip()}
---
# {task_name}: node {node_id}

{objective}

Exported by trex: {what}. Job `{job.content_hash()}`, seed {job.seed}.

## Scores ({job.eval.metric})

| split | score |
|---|---|
| validation | {_score(result, "validation")} |
| test | {_score(result, "test")} |

## Data recipe

```yaml
{recipe}```

## Training config

```json
{train}
```

## Evaluation

Prompt template: `{job.eval.prompt_template!r}`, mode `{job.eval.mode}`.
"""
