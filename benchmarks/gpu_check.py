"""GPU figures for trex's training and evaluation paths on a Qwen3-1.7B-shaped model built from its config.

    .venv/bin/python benchmarks/gpu_check.py [--json]               # on a CUDA machine (bf16)
    .venv/bin/python benchmarks/gpu_check.py --tiny --device cpu    # a seconds-long smoke run anywhere

The model has Qwen3-1.7B's shape (28 layers, hidden 2048, 16 query and 8 key/value heads, MLP 6144,
vocabulary 151,936, tied embeddings) with random weights: no download, the same FLOPs. Measured:
- LoRA SFT (r 16 on q/k/v/o, AdamW on the adapter): tokens per second over timed steps after
  warm-up, and MFU against the card's dense bf16 peak, counting 4 x parameters x tokens per step
  (forward 2N; backward through frozen weights 2N; the adapter's own FLOPs are negligible);
- full fine-tuning of the same model for comparison (6 x parameters x tokens);
- evaluation: prompt scoring (forward only) tokens per second, and greedy generation tokens per
  second for a batch.
Prints a table, or one JSON object with ``--json``; ``benchmarks/gpu_check.sh`` wraps it.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

# dense bf16 peak TFLOP/s by card name fragment (vendor datasheets, without sparsity)
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10": 125.0, "4090": 165.0}


def qwen3_config(tiny: bool) -> object:
    from transformers import Qwen3Config

    if tiny:
        return Qwen3Config(
            vocab_size=1000, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, head_dim=16, tie_word_embeddings=True,
        )  # fmt: skip
    return Qwen3Config(
        vocab_size=151936, hidden_size=2048, intermediate_size=6144, num_hidden_layers=28,
        num_attention_heads=16, num_key_value_heads=8, head_dim=128, max_position_embeddings=40960,
        rope_theta=1_000_000, tie_word_embeddings=True,
    )  # fmt: skip


def peak_tflops(device: str) -> float | None:
    if device != "cuda":
        return None
    name = torch.cuda.get_device_name()
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def train_rate(model, batch: int, seq: int, steps: int, warmup: int, device: str) -> float:  # noqa: ANN001
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    vocab = model.config.vocab_size
    ids = torch.randint(0, vocab, (batch, seq), device=device)
    for i in range(warmup + steps):
        if i == warmup:
            sync(device)
            start = time.perf_counter()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    sync(device)
    return batch * seq * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tiny", action="store_true", help="a tiny config: checks the script, not the card")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    device, dtype = args.device, torch.bfloat16 if args.device == "cuda" else torch.float32
    seq = 64 if args.tiny else args.seq
    torch.manual_seed(0)
    config = qwen3_config(args.tiny)
    model = AutoModelForCausalLM.from_config(config, dtype=dtype).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    peak = peak_tflops(device)
    out: dict = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "params": n_params,
        "batch": args.batch,
        "seq": seq,
        "dtype": str(dtype),
    }

    lora = get_peft_model(
        model, LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    )
    lora.train()
    rate = train_rate(lora, args.batch, seq, args.steps, 2, device)
    out["lora_tokens_per_s"] = rate
    out["lora_mfu"] = 4 * n_params * rate / (peak * 1e12) if peak else None
    model = lora.unload()  # the base model again, frozen by PEFT: unfreeze it for full fine-tuning
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    model.train()
    rate = train_rate(model, args.batch, seq, args.steps, 2, device)
    out["full_tokens_per_s"] = rate
    out["full_mfu"] = 6 * n_params * rate / (peak * 1e12) if peak else None

    model.eval()
    ids = torch.randint(0, config.vocab_size, (args.batch, seq), device=device)
    with torch.inference_mode():
        model(input_ids=ids)
        sync(device)
        start = time.perf_counter()
        for _ in range(args.steps):
            model(input_ids=ids, logits_to_keep=1)
        sync(device)
        out["score_tokens_per_s"] = args.batch * seq * args.steps / (time.perf_counter() - start)
        prompt = ids[:, : min(256, seq)]
        new = 16 if args.tiny else 128
        start = time.perf_counter()
        model.generate(input_ids=prompt, max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=0)
        sync(device)
        out["generate_tokens_per_s"] = args.batch * new / (time.perf_counter() - start)
    if args.json:
        print(json.dumps(out))
        return
    shape = "tiny Qwen3 config" if args.tiny else "Qwen3-1.7B shape"
    print(f"{out['device']}: {shape} ({n_params / 1e9:.3f} B params), batch {args.batch} x {seq}, {dtype}")
    for key in ("lora_tokens_per_s", "full_tokens_per_s", "score_tokens_per_s", "generate_tokens_per_s"):
        print(f"{key:24} {out[key]:12,.0f}")
    for key in ("lora_mfu", "full_mfu"):
        print(f"{key:24} {out[key]:12.3f}" if out[key] is not None else f"{key:24} {'n/a (no known peak)':>12}")


if __name__ == "__main__":
    main()
