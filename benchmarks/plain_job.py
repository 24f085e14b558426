"""The plain-TRL twin of a trex Job, for benchmarks/job_overhead.py: no trex code runs in it.

It does what the job does, with transformers, TRL, PEFT and datasets only: load the data, keep
the labelled rows, format prompt/completion pairs, train LoRA with the same SFTConfig, merge, and
score validation and test by the log-likelihood of each choice's first token. Arguments: a JSON
file with the model folder, data files, prompt, choices and hyperparameters; without a
"gradient_checkpointing" key, TRL's default applies (on).
"""

from __future__ import annotations

import json
import sys
import time

import torch
from datasets import load_dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer


def accuracy(model, tokenizer, path: str, prompt: str, choices: dict[str, str]) -> float:  # noqa: ANN001
    rows = load_dataset("json", data_files=path, split="train").to_list()
    labels = list(choices)
    ids = [tokenizer(choices[label], add_special_tokens=False)["input_ids"][0] for label in labels]
    tokenizer.padding_side = "left"
    hits = 0
    with torch.inference_mode():
        for start in range(0, len(rows), 16):
            batch = rows[start : start + 16]
            enc = tokenizer([prompt.format(**r) for r in batch], return_tensors="pt", padding=True)
            logits = model(**enc, logits_to_keep=1).logits[:, -1, ids]
            hits += sum(labels[int(i)] == r["label"] for i, r in zip(logits.argmax(-1), batch, strict=True))
    return hits / len(rows)


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    started = time.perf_counter()
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(spec["model"])
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(spec["model"], dtype=torch.float32)
    train = load_dataset("json", data_files=spec["train"], split="train")
    train = train.filter(lambda r: r["label"] in spec["choices"] and len(r["text"]) >= 10)
    train = train.map(
        lambda r: {"prompt": spec["prompt"].format(**r), "completion": spec["choices"][r["label"]]},
        remove_columns=train.column_names,
    )
    config = SFTConfig(
        output_dir=spec["out"],
        max_steps=spec["steps"],
        per_device_train_batch_size=spec["batch_size"],
        learning_rate=spec["lr"],
        max_length=spec["max_length"],
        completion_only_loss=True,
        use_cpu=True,
        report_to=[],
        save_strategy="no",
        disable_tqdm=True,
        seed=0,
        **({"gradient_checkpointing": spec["gradient_checkpointing"]} if "gradient_checkpointing" in spec else {}),
    )
    lora = LoraConfig(
        r=16, lora_alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], task_type="CAUSAL_LM"
    )
    trainer = SFTTrainer(model=model, args=config, train_dataset=train, processing_class=tokenizer, peft_config=lora)
    trainer.train()
    model = trainer.model.merge_and_unload().eval()
    val = accuracy(model, tokenizer, spec["validation"], spec["prompt"], spec["choices"])
    test = accuracy(model, tokenizer, spec["test"], spec["prompt"], spec["choices"])
    print(json.dumps({"val": val, "test": test, "seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
