"""The AIDP operator library in one import: registering every operator module fills ``OPERATORS``.

Modules by job: ``loaders`` (local files, the Hugging Face Hub), ``dedup`` (exact, near, and
decontamination against evaluation data), ``filters`` (predicate, score, random, cap), ``scorers``
(perplexity, LLM judge), ``generators`` (embeddings, preference pairs, recombination), ``synthesis``
(LLM-written rows, few-shot or from scratch), ``columns`` (a source's columns and labels mapped onto a task's),
``transforms`` (training formats, mixtures). Every operator is a function
``(Dataset | None, params) -> Dataset`` with a pydantic schema, deterministic given its
parameters (random choices are seeded; LLM replies are cached by prompt, model and parameters).
"""

from __future__ import annotations

from trex.aidp.columns import MapColumnsParams, map_columns
from trex.aidp.dedup import (
    DecontaminateParams,
    DedupParams,
    NearDedupParams,
    decontaminate,
    deduplicate_by_text_hash,
    deduplicate_near,
)
from trex.aidp.filters import (
    CapParams,
    FilterParams,
    RandomParams,
    ScoreParams,
    cap_samples,
    select_by_filter,
    select_by_random,
    select_by_score,
)
from trex.aidp.generators import (
    EmbedParams,
    PreferenceParams,
    RecombineParams,
    augment_by_recombination,
    generate_preference_dataset,
    generate_text_embeddings,
)
from trex.aidp.loaders import LoadLocalParams, LoadRemoteParams, load_local_dataset, load_remote_dataset
from trex.aidp.registry import OPERATORS, Operator, OperatorError, Params
from trex.aidp.scorers import JudgeParams, PerplexityParams, compute_perplexity, score_dataset_with_llm
from trex.aidp.synthesis import GenerateParams, generate_dataset_with_llm
from trex.aidp.transforms import FormatParams, MixParams, format_for_training, mix_datasets

__all__ = [
    "OPERATORS",
    "CapParams",
    "DecontaminateParams",
    "DedupParams",
    "EmbedParams",
    "FilterParams",
    "FormatParams",
    "GenerateParams",
    "JudgeParams",
    "LoadLocalParams",
    "LoadRemoteParams",
    "MapColumnsParams",
    "MixParams",
    "NearDedupParams",
    "Operator",
    "OperatorError",
    "Params",
    "PerplexityParams",
    "PreferenceParams",
    "RandomParams",
    "RecombineParams",
    "ScoreParams",
    "augment_by_recombination",
    "cap_samples",
    "compute_perplexity",
    "decontaminate",
    "deduplicate_by_text_hash",
    "deduplicate_near",
    "format_for_training",
    "generate_dataset_with_llm",
    "generate_preference_dataset",
    "generate_text_embeddings",
    "load_local_dataset",
    "load_remote_dataset",
    "map_columns",
    "mix_datasets",
    "score_dataset_with_llm",
    "select_by_filter",
    "select_by_random",
    "select_by_score",
]
