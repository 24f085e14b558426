"""Model loading for jobs: the device is chosen automatically and seeds are fixed.

CUDA with bf16 when a GPU is visible (the scheduler sets CUDA_VISIBLE_DEVICES per job),
otherwise CPU in fp32. ``embedded:`` references are resolved through ``trex.assets``.
"""

from __future__ import annotations

import random

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from trex.assets import resolve_model


def pick_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_model(
    ref: str, device: str | None = None, quantization: str = "none"
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal LM and its tokenizer (with a pad token) on ``device`` (default: auto).

    ``quantization="4bit"`` loads NF4 weights for QLoRA: it needs CUDA and bitsandbytes and says so.
    """
    path = resolve_model(ref)
    device = device or pick_device()
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    if quantization == "4bit":
        if device != "cuda":
            raise ValueError("quantization '4bit' (QLoRA) needs a CUDA GPU; use quantization 'none' on CPU")
        try:
            from transformers import BitsAndBytesConfig
        except ImportError as exc:  # pragma: no cover (transformers always has it)
            raise ValueError("QLoRA needs bitsandbytes: pip install 'trex[gpu]'") from exc
        config = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype, bnb_4bit_use_double_quant=True
        )
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, quantization_config=config, device_map="cuda")
        return model, tokenizer
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device)
    return model, tokenizer
