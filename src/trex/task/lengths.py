"""The length check: a task none of whose training rows fits ``training.max_length`` tokens is refused at the door.

A job trains on the prompt (``eval.prompt_template`` filled in, wrapped in the chat template when the task asks)
and its completion, cut at ``training.max_length`` tokens; a row whose prompt alone fills them keeps no completion
token and is dropped. A task where every row is dropped used to fail every job after minutes ("num_samples should
be a positive integer ... got 0"). ``check_lengths`` measures, with the base model's own tokenizer, the template
with empty placeholders and every training row's prompt, and raises ``DataError`` when no row leaves room for a
completion token (the message gives the template's tokens, the shortest and longest rows, and ``max_length``).

The tokenizer is loaded from local files only (``local_files_only``: no request is made): an embedded model from
its package, a local folder, or a hub model already in the cache. A model not on this machine is not measured;
its jobs download it. Not checked: what a recipe's own ``format_for_training`` step does to the rows.
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, Any

from trex.task.datafiles import DataError, Rows

if TYPE_CHECKING:
    from trex.task.spec import TaskSpec


def base_tokenizer(ref: str) -> Any:  # noqa: ANN401 (a transformers tokenizer, imported lazily)
    """The tokenizer of the base model ``ref`` from local files only, or None when this machine does not hold it.
    The embedded SmolLM2 is read from its GGUF file until its Hugging Face folder is built (seconds, not a minute)."""
    from transformers import AutoTokenizer

    from trex.assets import EMBEDDED, SMOLLM2, AssetError, cache_dir, resolve_model, smollm2_gguf

    try:
        if ref == EMBEDDED + SMOLLM2 and not (cache_dir() / "models" / SMOLLM2).exists():
            gguf = smollm2_gguf()
            return AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
        return AutoTokenizer.from_pretrained(resolve_model(ref), local_files_only=True)
    except (OSError, ValueError, AssetError):  # not on this machine (or no tokenizer there): the jobs will say
        return None


def _prompts(task: TaskSpec, tokenizer: Any, rows: list[dict[str, Any]]) -> list[str]:  # noqa: ANN401
    prompts = [task.eval.prompt_template.format(**row) for row in rows]
    if not task.eval.chat_template or not getattr(tokenizer, "chat_template", None):
        return prompts
    return [
        tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        for p in prompts
    ]


def prompt_tokens(task: TaskSpec, tokenizer: Any, rows: list[dict[str, Any]]) -> list[int]:  # noqa: ANN401
    """Tokens of each row's prompt as a job sees it."""
    if not rows:
        return []
    return [len(ids) for ids in tokenizer(_prompts(task, tokenizer, rows))["input_ids"]]


def check_lengths(task: TaskSpec, train: Rows | None, task_file: str = "task", tokenizer: Any = None) -> None:  # noqa: ANN401
    """Raise DataError when the template alone, or every training row's prompt, fills ``training.max_length``."""
    tokenizer = tokenizer if tokenizer is not None else base_tokenizer(task.base_model)
    if tokenizer is None:
        return
    limit = task.training.max_length
    empty = {name: "" for _, name, _, _ in string.Formatter().parse(task.eval.prompt_template) if name}
    alone = prompt_tokens(task, tokenizer, [empty])[0]
    how = f"tokens of {task.base_model}'s tokenizer"
    if alone >= limit:
        raise DataError(
            f"{task_file}: eval.prompt_template alone is {alone} {how}, and training.max_length is {limit}: no "
            "training row can fit; raise training.max_length or shorten the template"
        )
    if train is None or not train.rows:
        return
    lengths = prompt_tokens(task, tokenizer, train.rows)
    shortest = min(range(len(lengths)), key=lengths.__getitem__)
    if lengths[shortest] >= limit:
        raise DataError(
            f"{train.path}: no training row fits training.max_length {limit} ({how}): the prompt of the shortest "
            f"row (line {train.lines[shortest]}) is {lengths[shortest]}, of the longest {max(lengths)}, the template "
            f"alone {alone}; raise training.max_length or shorten the template"
        )
