"""Tasks without training data: the LLM researcher's root builds a training set, from the Hub and from synthesis.

A task file may leave out ``train_data`` (FT-Bench's CS-Bench and GTA give none). Then the root plan is written
here, in three steps:

1. the LLM names a Hub search; ``search_hub_datasets`` runs it (``Tools``, through ``HF_ENDPOINT`` or the tools'
   endpoint) and the first results are previewed (columns, rows, values) by ``load_remote_dataset``;
2. the LLM writes the plan: a recipe that loads a found dataset and maps it onto the task's fields
   (``map_columns``: columns, label values, the rows' ``source``), and/or writes rows with
   ``generate_dataset_with_llm`` from scratch, then formats them for training;
3. trex fills what the LLM cannot be trusted with (``filled``): a from-scratch generator gets the task's label set,
   its evaluation prompt and the task file's ``examples`` (never validation or test rows); a mapped Hub source is
   tagged ``hub:<id>``. The plan check (``check_built``) rejects a recipe that loads the evaluation files, a Hub
   dataset read without a mapping onto the task's fields, and a mapping whose label column cannot produce the
   task's labels; its message goes back to the LLM in the repair round.

Every recipe is decontaminated against validation and test after its last row-writing step (``trex.run.executor``),
and its data statistics count the rows by source and label (``trex.aidp.recipe.StepStats``). When the LLM gives no
valid root, ``ScratchFallback`` synthesizes the rows; ``ScratchFallback`` is the heuristic for the children of such a
tree (it adjusts training on the parent's built recipe, since there is no file to go back to).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from datasets import Dataset
from pydantic import BaseModel, Field

from trex.agents.heuristic.researcher import HeuristicResearcher
from trex.agents.llm.answer import catalog_text, plan_answer_model, to_plan
from trex.agents.llm.prompts import PromptSet
from trex.agents.llm.tools import ToolCall, Tools
from trex.agents.recipes import base_recipe, rows_needed
from trex.aidp.operators import OPERATORS, LoadRemoteParams, MapColumnsParams, load_remote_dataset, map_columns
from trex.aidp.recipe import Recipe, Step
from trex.llm.client import LLMError
from trex.plan import ConfigSpec, NodeRecord, Plan, PlanContext
from trex.task.spec import TaskSpec

COMMON = {"name", "objective", "evaluation", "labels", "examples"}
PROMPT_FIELDS: dict[str, set[str]] = {
    "hub_query": COMMON,
    "scratch_root": COMMON | {"metric", "base_model", "budget", "found", "defaults", "operators", "k"},
}
PREVIEWED = 2  # search results previewed (loaded) for the LLM
MAX_SHOWN_VALUES = 12
_PREVIEWS: dict[tuple[str, str | None, str, str | None], Dataset | str] = {}


class HubQuery(BaseModel):
    query: str = Field(max_length=200, description="a few words to search the Hub's datasets with")


def builds_train_data(task: TaskSpec) -> bool:
    """No training rows in the task file (``eval.split``'s other rows are training data)."""
    return task.train_data is None and task.eval_split is None


def task_labels(task: TaskSpec) -> list[str] | None:
    """The labels a training row may carry (None: free text, a generate-mode task)."""
    return list(task.eval.choices) if task.eval.mode == "choices" and task.eval.choices else None


def _common(task: TaskSpec) -> dict[str, str]:
    ev, labels = task.eval, task_labels(task)
    evaluation = (
        f"prompt template {ev.prompt_template!r} over the field {ev.input_field!r}; the answer is the field "
        f"{ev.label_field!r}; mode {ev.mode}" + (f", label -> completion {ev.choices}" if ev.choices else "")
        + ("; the prompt is sent through the chat template" if ev.chat_template else "")
    )  # fmt: skip
    shown = "\n".join(f"  - {row}" for row in task.examples) or "  none"
    return {
        "name": task.name,
        "objective": task.objective,
        "evaluation": evaluation,
        "labels": ", ".join(labels) if labels else "free text",
        "examples": shown,
    }


def data_text(task: TaskSpec) -> str:
    """What the children's prompts say of the training data of a task that had none ("" for a task with some)."""
    if not builds_train_data(task):
        return ""
    return (
        "none in the task file: the root built the training set (its shared recipe: a mapped Hub dataset and/or "
        "rows written from scratch). Each node's data statistics count its rows by source and label. Reuse and "
        "change that recipe; never load the validation or test files."
    )


def hub_preview(p: LoadRemoteParams) -> Dataset | str:
    """The Hub dataset's rows, or why they cannot be read (cached: a plan check and its repairs read it once)."""
    key = (p.name, p.config, p.split, p.revision)
    if key not in _PREVIEWS:
        try:
            _PREVIEWS[key] = load_remote_dataset(None, p)
        except Exception as exc:  # noqa: BLE001 - a dataset that cannot be read is an answer for the LLM
            _PREVIEWS[key] = f"{type(exc).__name__}: {str(exc)[:300]}"
    return _PREVIEWS[key]


def preview_text(name: str) -> str:
    ds = hub_preview(LoadRemoteParams(name=name))
    if isinstance(ds, str):
        return f"{name}: not readable ({ds})"
    lines = [f"{name} (split train): {len(ds)} rows, columns {ds.column_names}"]
    for column in ds.column_names:
        values = sorted({str(v) for v in ds[column][:2000]})
        if len(values) <= MAX_SHOWN_VALUES:
            lines.append(f"  {column}: values {values}")
        else:
            lines.append(f"  {column}: e.g. {str(ds[0][column])[:150]!r}")
    return "\n".join(lines)


def find_on_hub(researcher: Any) -> str:
    """The LLM's Hub search, its results and a preview of the first ones (a ``tool_call`` event)."""
    query = researcher._ask(load_prompts().render("hub_query", **_common(researcher.task)), HubQuery)
    tools = researcher.tools or Tools()
    found = tools.run(ToolCall(tool="search_hub_datasets", query=query.query))
    names = re.findall(r"^- (\S+) \(downloads", found, flags=re.MULTILINE)[:PREVIEWED]
    previews = "\n".join(preview_text(name) for name in names)
    answer = f"{found}\n\nPreviews:\n{previews}" if previews else found
    researcher._event("tool_call", None, tool="search_hub_datasets", query=query.query, answer=answer[:2000])
    return answer


def filled(plan: Plan, task: TaskSpec) -> Plan:
    """The plan with what trex fills in its building steps (the task's labels, prompt and examples; sources)."""

    def fill(recipe: Recipe) -> Recipe:
        steps = []
        for i, step in enumerate(recipe.steps):
            args = dict(step.args)
            if step.op == "generate_dataset_with_llm" and args.get("from_scratch"):
                args.update(labels=task_labels(task), prompt_format=task.eval.prompt_template, examples=task.examples)
            previous = recipe.steps[i - 1] if i else None
            if step.op == "map_columns" and previous is not None and previous.op == "load_remote_dataset":
                args.setdefault("source", f"hub:{previous.args.get('name')}")
            steps.append(step.model_copy(update={"args": args}))
        return Recipe(steps=steps)

    configs = [c.model_copy(update={"recipe": fill(c.recipe)}) if c.recipe else c for c in plan.configs]
    return plan.model_copy(update={"recipe": fill(plan.recipe), "configs": configs})


def check_built(plan: Plan, task: TaskSpec) -> None:
    """Reject a recipe that loads the evaluation files, reads a Hub dataset without mapping it onto the task's
    fields, or maps a label column that cannot produce the task's labels (ValueError, shown to the LLM). A task
    with training data passes: its recipes are the researcher's own business."""
    if not builds_train_data(task):
        return
    for recipe in [plan.recipe, *(c.recipe for c in plan.configs if c.recipe is not None)]:
        synthesizes = any(s.op == "generate_dataset_with_llm" and s.args.get("from_scratch") for s in recipe.steps)
        for i, step in enumerate(recipe.steps):
            where = f"step {i + 1} ({step.op})"
            if step.op == "load_local_dataset" and step.args.get("path") in (task.eval.validation, task.eval.test):
                raise ValueError(f"{where}: loads an evaluation file; a training set is never built from those rows")
            if step.op == "generate_dataset_with_llm" and step.args.get("from_scratch"):
                _check_generated(step, task, where)
            if step.op == "load_remote_dataset":
                after = recipe.steps[i + 1] if i + 1 < len(recipe.steps) else None
                _check_mapped(step, after, task, where, synthesizes)


def _check_generated(step: Step, task: TaskSpec, where: str) -> None:
    ev = task.eval
    if (step.args.get("input_column", "text"), step.args.get("output_column", "label")) != (
        ev.input_field,
        ev.label_field,
    ):
        raise ValueError(f"{where}: input_column and output_column must be the task's {ev.input_field!r} and "
                         f"{ev.label_field!r}")  # fmt: skip


def _check_mapped(step: Step, after: Step | None, task: TaskSpec, where: str, synthesizes: bool) -> None:
    ev, labels = task.eval, task_labels(task)
    if after is None or after.op != "map_columns":
        raise ValueError(f"{where}: follow it with map_columns, mapping its columns onto {ev.input_field!r} and "
                         f"{ev.label_field!r} (and its label values onto {labels})")  # fmt: skip
    mapping = OPERATORS["map_columns"].params.model_validate(after.args)
    assert isinstance(mapping, MapColumnsParams)
    targets = set(mapping.columns.values())
    if not {ev.input_field, ev.label_field} <= targets or mapping.label_column != ev.label_field:
        raise ValueError(f"{where}: map_columns must produce the task's {ev.input_field!r} and {ev.label_field!r} "
                         f"(label_column {ev.label_field!r}); it produces {sorted(targets)}")  # fmt: skip
    ds = hub_preview(OPERATORS["load_remote_dataset"].params.model_validate(step.args))
    if isinstance(ds, str):
        raise ValueError(f"{where}: cannot read {step.args.get('name')!r} ({ds}); choose another dataset")
    missing = [c for c in mapping.columns if c not in ds.column_names]
    if missing:
        raise ValueError(f"{where}: {step.args.get('name')} has no column(s) {missing} (columns: {ds.column_names})")
    if labels is None:
        return
    produced = set(map_columns(ds, mapping)[ev.label_field]) if len(ds) else set()
    source = next(k for k, v in mapping.columns.items() if v == ev.label_field)
    values = sorted({str(v) for v in ds[source]})[:MAX_SHOWN_VALUES]
    wrong, absent = sorted(produced - set(labels)), sorted(set(labels) - produced)
    if not produced or wrong or (absent and not synthesizes):
        raise ValueError(
            f"{where}: the mapped label column cannot produce the task's labels {labels}: it yields "
            f"{sorted(produced)}" + (f", of which {wrong} are not task labels" if wrong else "")
            + (f", and never {absent}" if absent else "") + f". Its {source!r} values are {values}: map them "
            "with map_columns labels {source value: task label}"
            + ("" if synthesizes else ", or add a from-scratch generator for the missing labels")
        )  # fmt: skip


def scratch_root_plan(researcher: Any) -> Plan:
    """The root of a task without training data, written by the LLM (the fallback's when it gives none)."""
    task, endpoint = researcher.task, researcher.llm_endpoint
    try:
        found = find_on_hub(researcher)
        prompt = load_prompts().render(
            "scratch_root", metric=task.eval.metric, base_model=task.base_model, budget=researcher._budget(),
            found=found, defaults=task.training.model_dump_json(), operators=catalog_text(endpoint is not None),
            k=researcher.k, **_common(task),
        )  # fmt: skip

        def build(answer: Any) -> Plan:
            return filled(to_plan(answer, "establish_baseline", endpoint), task)

        def check(answer: Any) -> None:
            researcher._finish(build(answer), {})  # check_built among its checks

        return build(researcher._ask(prompt, plan_answer_model(researcher.k, endpoint is not None), check))
    except LLMError as exc:
        researcher._fall_back(exc, None, "root")
        return researcher.fallback._root_plan()
    finally:
        researcher._save_usage()


def default_recipe(task: TaskSpec, endpoint: str | None, seed: int) -> Recipe:
    """Rows written from scratch by the run's LLM endpoint, formatted as the evaluation prompts them."""
    rows = rows_needed(task.training)
    write = Step(op="generate_dataset_with_llm", args={
        "instruction": task.objective, "input_column": task.eval.input_field, "output_column": task.eval.label_field,
        "n": rows, "rows_per_call": 10, "from_scratch": True, "seed": seed, "llm": endpoint or "researcher",
    })  # fmt: skip
    return Recipe(steps=[write, base_recipe(task, rows, seed).steps[-1]])  # the task's standard training format


def built_recipe(parent: NodeRecord) -> Recipe:
    """The recipe the parent's best config trained on (the shared one when none succeeded)."""
    best = parent.best()
    spec = next((c for c in parent.plan.configs if best is not None and c.name == best.name), None)
    return parent.plan.recipe_for(spec) if spec is not None else parent.plan.recipe


class ScratchFallback(HeuristicResearcher):
    """The heuristic for a task without training data: the default root, then training moves on the parent's
    built recipe (its data moves would reload a file there is none of)."""

    name = "heuristic"
    needs_train_data = False

    def __init__(self, task: TaskSpec, seed: int = 0, endpoint: str | None = None) -> None:
        super().__init__(task, seed)
        self.endpoint = endpoint

    def _root_plan(self) -> Plan:
        """The heuristic's first grid on rows written from scratch."""
        plan = super()._root_plan().model_copy(update={
            "recipe": default_recipe(self.task, self.endpoint, self.seed),
            "change": "a training set written from scratch and a first grid",
            "rationale": "The task has no training data: write rows for every label from the objective, the "
            "evaluation prompt and the task's examples, then train a small grid around the defaults.",
        })  # fmt: skip
        return filled(plan, self.task)

    def _plan(self, context: PlanContext) -> Plan:
        best = context.parent.best()
        plan = self._adjust_training(context, best) if best is not None else self._after_failures(context)
        configs = [ConfigSpec(name=c.name, train=c.train, source=c.source) for c in plan.configs]
        return plan.model_copy(update={"recipe": built_recipe(context.parent), "configs": configs})


def fallback(task: TaskSpec, seed: int, endpoint: str | None) -> HeuristicResearcher:
    """The heuristic that plans when the LLM cannot: ``ScratchFallback`` for a task without training data."""
    return ScratchFallback(task, seed, endpoint) if builds_train_data(task) else HeuristicResearcher(task, seed=seed)


@cache
def load_prompts() -> PromptSet:
    return PromptSet.load("scratch.yaml", PROMPT_FIELDS)
