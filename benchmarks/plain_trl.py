"""What a user would do instead of trex: one plain TRL LoRA run on the demo task, timed.

Same model, splits, prompt and log-likelihood scoring as ``examples/tasks/rotten_tomatoes.yaml``;
LoRA r=16 on q/k/v/o, batch 8, max length 96, linear schedule over ``--steps``; the validation and
test accuracy are measured at each step count of ``--eval-at`` (the adapter is merged into a copy
for scoring, as trex does). Prints one line per checkpoint with the wall time spent training so
far, and ``--json`` prints all of it as one JSON object.

    .venv/bin/python benchmarks/plain_trl.py --steps 90 --eval-at 30,60,90 --lr 2e-4
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time

from transformers import TrainerCallback

from trex.agents.heuristic.researcher import base_recipe
from trex.aidp.recipe import run_recipe
from trex.evaluation.run import evaluate_split
from trex.task.spec import load_task
from trex.train.model import load_model, seed_everything


class Checkpoints(TrainerCallback):
    def __init__(self, steps: set[int], task, tokenizer, started: float) -> None:
        self.steps, self.task, self.tokenizer, self.started = steps, task, tokenizer, started
        self.rows: list[dict] = []
        self.eval_seconds = 0.0

    def on_step_end(self, args, state, control, model=None, **kwargs):  # noqa: ANN001, ANN201 (transformers API)
        if state.global_step not in self.steps:
            return
        t0 = time.perf_counter()
        merged = copy.deepcopy(model).merge_and_unload().eval()
        val = evaluate_split(merged, self.tokenizer, self.task.eval, "validation").score.value
        test = evaluate_split(merged, self.tokenizer, self.task.eval, "test").score.value
        model.train()
        self.eval_seconds += time.perf_counter() - t0
        row = {
            "step": state.global_step,
            "val": val,
            "test": test,
            "train_s": time.perf_counter() - self.started - self.eval_seconds,
        }
        self.rows.append(row)
        print(
            f"step {row['step']}: val {val:.3f} test {test:.3f} after {row['train_s']:.0f} s of training", flush=True
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="examples/tasks/rotten_tomatoes.yaml")
    parser.add_argument("--steps", type=int, default=90)
    parser.add_argument("--eval-at", default="30,60,90")
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    task = load_task(args.task)
    seed_everything(0)
    started = time.perf_counter()
    model, tokenizer = load_model(task.base_model, device="cpu")
    base_val = evaluate_split(model, tokenizer, task.eval, "validation").score.value
    base_test = evaluate_split(model, tokenizer, task.eval, "test").score.value
    dataset, _ = run_recipe(base_recipe(task, args.steps * 8, seed=0))
    callback = Checkpoints({int(s) for s in args.eval_at.split(",")}, task, tokenizer, time.perf_counter())
    config = SFTConfig(
        output_dir=tempfile.mkdtemp(prefix="trex-plain-trl-"),
        max_steps=args.steps,
        per_device_train_batch_size=8,
        learning_rate=args.lr,
        max_length=96,
        completion_only_loss=True,
        use_cpu=True,
        report_to=[],
        save_strategy="no",
        disable_tqdm=True,
        seed=0,
    )
    lora = LoraConfig(
        r=16, lora_alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], task_type="CAUSAL_LM"
    )
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora,
        callbacks=[callback],
    )
    trainer.train()
    out = {
        "lr": args.lr,
        "base_val": base_val,
        "base_test": base_test,
        "checkpoints": callback.rows,
        "total_s": time.perf_counter() - started,
    }
    print(
        json.dumps(out) if args.json else f"base val {base_val:.3f} test {base_test:.3f}; total {out['total_s']:.0f} s"
    )


if __name__ == "__main__":
    main()
