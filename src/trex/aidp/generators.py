"""AIDP generators: new columns or new rows.

- ``generate_text_embeddings``: sentence-transformers embeddings of a text column (the embedded
  all-MiniLM-L6-v2 offline; any sentence-transformers model id or folder), batched, GPU when present.
- ``generate_dataset_with_llm`` (in ``trex.aidp.synthesis``): new input/output rows written by an LLM, from
  seeded samples of the input rows or from scratch.
- ``generate_preference_dataset``: prompt/chosen/rejected rows, either by ranking the answers to
  each prompt on a score column (``rank``) or by an LLM judge choosing between two answer
  columns (``judge``, in both orders: a pair whose verdict flips with the order is dropped).
- ``augment_by_recombination``: label-preserving recombination of text halves, no LLM.
Generated rows carry ``synthetic=True`` where the input rows are kept alongside them.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from datasets import Dataset
from pydantic import BaseModel, Field

from trex.aidp.llm_cache import LLM_DOC, LLMRef, map_with_llm
from trex.aidp.registry import OperatorError, Params, need, need_columns, operator
from trex.aidp.scorers import llm_prompts


class EmbedParams(Params):
    column: str = "text"
    model: str = Field(default="embedded:all-minilm-l6-v2", description="sentence-transformers model id or folder")
    batch_size: int = Field(default=64, ge=1)
    normalize: bool = Field(default=True, description="unit-length vectors (cosine similarity = dot product)")
    output: str = "embedding"


@operator(
    "generate_text_embeddings",
    "generator",
    EmbedParams,
    needs=lambda p: [p.column],
    adds=lambda p: [p.output],
    requires=(("sentence_transformers", "trex[embed]"),),
)
def generate_text_embeddings(ds: Dataset | None, p: EmbedParams) -> Dataset:
    """Add a sentence embedding of a text column (sentence-transformers; all-MiniLM-L6-v2 offline by default)."""
    from trex.assets import resolve_model
    from trex.train.model import pick_device

    ds = need(ds, "generate_text_embeddings")
    need_columns(ds, [p.column], "generate_text_embeddings")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise OperatorError("generate_text_embeddings needs sentence-transformers: pip install 'trex[embed]'") from exc
    model = SentenceTransformer(resolve_model(p.model), device=pick_device())
    texts = [str(t) if t is not None else "" for t in ds[p.column]]
    vectors = model.encode(
        texts,
        batch_size=p.batch_size,
        normalize_embeddings=p.normalize,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return ds.add_column(p.output, [v.astype(np.float32).tolist() for v in vectors])


class PreferenceParams(Params):
    method: Literal["rank", "judge"] = Field(description="rank answers by a score column, or ask an LLM judge")
    prompt_column: str = "prompt"
    answer_column: str = Field(default="completion", description="rank: the answer column")
    score_column: str | None = Field(default=None, description="rank: higher is better")
    answer_a: str | None = Field(default=None, description="judge: first answer column")
    answer_b: str | None = Field(default=None, description="judge: second answer column")
    min_margin: float = Field(default=0.0, ge=0, description="rank: chosen minus rejected score must exceed this")
    llm: LLMRef | None = Field(default=None, description=LLM_DOC)
    workers: int = Field(default=4, ge=1, le=64)


def _preference_needs(p: PreferenceParams) -> list[str]:
    if p.method == "rank":
        return [p.prompt_column, p.answer_column, *([p.score_column] if p.score_column else [])]
    return [p.prompt_column, *(c for c in (p.answer_a, p.answer_b) if c)]


class Verdict(BaseModel):
    better: Literal["A", "B"]
    reason: str = ""


@operator(
    "generate_preference_dataset",
    "generator",
    PreferenceParams,
    needs=_preference_needs,
    output=lambda p, columns: ["prompt", "chosen", "rejected"],
)
def generate_preference_dataset(ds: Dataset | None, p: PreferenceParams) -> Dataset:
    """Make prompt/chosen/rejected pairs (for DPO): best vs worst answer per prompt by a score, or by an LLM judge."""
    ds = need(ds, "generate_preference_dataset")
    need_columns(ds, _preference_needs(p), "generate_preference_dataset")
    if p.method == "rank":
        if p.score_column is None:
            raise OperatorError("generate_preference_dataset: method 'rank' needs score_column")
        groups: dict[str, list[tuple[float, str]]] = {}
        for row in ds:
            if row[p.score_column] is not None:
                groups.setdefault(str(row[p.prompt_column]), []).append(
                    (float(row[p.score_column]), row[p.answer_column])
                )
        pairs = []
        for prompt, answers in groups.items():
            ranked = sorted(answers, key=lambda a: -a[0])
            (best, chosen), (worst, rejected) = ranked[0], ranked[-1]
            if len(ranked) > 1 and best - worst > p.min_margin and chosen != rejected:
                pairs.append({"prompt": prompt, "chosen": chosen, "rejected": rejected})
    else:
        if p.llm is None or p.answer_a is None or p.answer_b is None:
            raise OperatorError("generate_preference_dataset: method 'judge' needs llm, answer_a and answer_b")
        pairs = _judge_pairs(ds, p)
    if not pairs:
        raise OperatorError("generate_preference_dataset: no pair could be formed")
    return Dataset.from_list(pairs)


def _judge_pairs(ds: Dataset, p: PreferenceParams) -> list[dict[str, str]]:
    from trex.llm.client import LLMError
    from trex.llm.structured import structured

    prompts = llm_prompts()

    def ask(client: Any, prompt: str, a: str, b: str) -> str | None:
        messages = [
            {"role": "system", "content": prompts["prefer_system"]},
            {"role": "user", "content": prompts["prefer_user"].format(prompt=prompt, a=a, b=b)},
        ]
        try:
            return structured(client, messages, Verdict).better
        except LLMError:
            return None

    def one(client: Any, row: dict[str, Any]) -> dict[str, str] | None:
        prompt, a, b = str(row[p.prompt_column]), str(row[p.answer_a]), str(row[p.answer_b])
        first, swapped = ask(client, prompt, a, b), ask(client, prompt, b, a)
        if first is None or swapped is None or first == swapped:  # no verdict, or it follows the position
            return None
        chosen, rejected = (a, b) if first == "A" else (b, a)
        return {"prompt": prompt, "chosen": chosen, "rejected": rejected}

    pairs = map_with_llm(p.llm, p.workers, one, list(ds))  # type: ignore[arg-type]
    return [pair for pair in pairs if pair is not None]


class RecombineParams(Params):
    column: str = "text"
    group_by: str = Field(default="label", description="rows are recombined only within a value of this column")
    copies: int = Field(default=1, ge=1, le=10, description="synthetic rows per original row")
    seed: int = 0


def _halves(text: str) -> tuple[str, str]:
    words = str(text).split()
    cut = next((i + 1 for i, w in enumerate(words) if i >= len(words) // 3 and w[-1:] in ",;:.!?"), len(words) // 2)
    return " ".join(words[:cut]), " ".join(words[cut:])


@operator(
    "augment_by_recombination",
    "generator",
    RecombineParams,
    needs=lambda p: [p.column, p.group_by],
    adds=lambda p: ["synthetic"],
)
def augment_by_recombination(ds: Dataset | None, p: RecombineParams) -> Dataset:
    """Add synthetic rows: the first part of one row's text joined to the rest of another row with the same
    group value (label-preserving recombination, no LLM); originals are kept, synthetic rows get synthetic=True."""
    ds = need(ds, "augment_by_recombination")
    need_columns(ds, [p.column, p.group_by], "augment_by_recombination")
    rng = np.random.default_rng(p.seed)
    rows = ds.to_list()
    groups: dict[Any, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(row[p.group_by], []).append(i)
    extra = []
    for _ in range(p.copies):
        for row in rows:
            partner = rows[int(rng.choice(groups[row[p.group_by]]))]
            head, _ = _halves(row[p.column])
            _, tail = _halves(partner[p.column])
            extra.append({**row, p.column: f"{head} {tail}".strip()})
    out = [{**r, "synthetic": False} for r in rows] + [{**r, "synthetic": True} for r in extra]
    return Dataset.from_list(out)
