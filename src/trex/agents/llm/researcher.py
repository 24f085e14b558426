"""LLMResearcher: plans nodes with an LLM, coarse to fine, checked as strictly as the schema allows.

The root: the LLM writes the first plan (a dataset and a grid around the defaults) from the task, the
training data's profile and the operator catalog; the heuristic's baseline is the fallback. A child:
the LLM may look things up (tools), then picks a strategy, then writes a Plan. Both prompts get the
memory context, the tool results and the parent node whole (``render``: scores with intervals, all
settings, costs, data statistics, the full diagnosis, sampled bad cases) and the budget left. The plan
answer schema is exact (``answer``: k configs, per-operator arguments); one slot of every child plan
is the surrogate's best proposal (Optuna TPE over every finished job of the tree), added by trex and
recorded as ``source="surrogate"``, and the other proposals are shown as suggestions. An invalid
answer goes back to the LLM with the error (``structured``). A prompt that overflows the model's context is
cut and asked again (``shrink``: memory, bad cases, sibling detail; each cut a ``prompt_cut`` event); when no
valid plan comes, the heuristic plans that node only, and the fallback is a ``researcher_fallback`` event with
its cause (``LLMError.kind``) and one logged line. No LLM failure ends the run. Test scores never reach a prompt.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import Any

from pydantic import BaseModel, Field

from trex.agents.llm import render, scratch
from trex.agents.llm.answer import catalog_text, plan_answer_model, to_plan, train_fields_text
from trex.agents.llm.connect import client_from_options
from trex.agents.llm.prompts import PromptSet
from trex.agents.llm.shrink import PromptParts, ask_shrinking
from trex.agents.llm.tools import TOOL_HELP, ToolCall, Tools
from trex.agents.proposals import propose_configs
from trex.agents.repair import MAX_REPAIR_ROUNDS
from trex.agents.researcher import Researcher
from trex.llm.client import LLMClient, LLMError, LLMUsage
from trex.llm.pricing import require_price
from trex.llm.structured import structured
from trex.plan import BudgetLeft, ConfigSpec, NodeRecord, Plan, PlanContext, Strategy, check_code_steps, check_plan
from trex.store import Store
from trex.task.spec import TaskSpec
from trex.train.config import TrainConfig

COMMON = {"name", "objective", "metric", "base_model"}
PROMPT_FIELDS: dict[str, set[str]] = {
    "system": set(),
    "root": COMMON | {"mode", "budget", "data", "format", "defaults", "operators", "k"},
    "strategy": COMMON | {"mode", "budget", "context", "parent", "siblings", "in_flight", "data", "operators"},
    "plan": COMMON
    | {"mode", "budget", "strategy", "rationale", "context", "parent", "siblings", "in_flight", "data", "operators"}
    | {"format", "train_schema"}
    | {"suggestions", "k"},
    "repair": {"name", "objective", "attempt", "rounds", "error_class", "error", "config", "recipe", "operators"},
    "research": COMMON | {"parent", "calls", "tools", "found"},
}
SUGGESTIONS = 3
logger = logging.getLogger(__name__)


class Repair(BaseModel):
    fixable: bool
    change: str = ""
    config: ConfigSpec | None = None


class StrategyChoice(BaseModel):
    strategy: Strategy
    # bounded: under a JSON-schema grammar a small model can otherwise loop inside the string
    rationale: str = Field(max_length=1000)


def load_prompts() -> PromptSet:
    return PromptSet.load("researcher.yaml", PROMPT_FIELDS)


class LLMResearcher(Researcher):
    name = "llm"
    needs_train_data = False  # without it, the root builds a training set (trex.agents.llm.scratch)

    def __init__(
        self,
        task: TaskSpec,
        client: LLMClient,
        store: Store | None = None,
        seed: int = 0,
        tools: Tools | None = None,
        max_tool_calls: int = 3,
        llm_endpoint: str | None = None,
    ) -> None:
        super().__init__(task, seed)
        self.client = client
        self.store = store
        self.tools = tools
        self.max_tool_calls = max_tool_calls
        self.llm_endpoint = llm_endpoint  # the endpoint's name for the LLM data operators (None: not offered)
        stored = store.get_meta("llm_usage") if store is not None else None
        self.usage = LLMUsage(**stored) if stored else LLMUsage()  # a resumed run keeps counting
        self.prompts = load_prompts()
        self.fallback = scratch.fallback(task, seed, llm_endpoint)  # the heuristic, for a task without data too

    @classmethod
    def from_options(cls, task: TaskSpec, options: Any, store: Store) -> LLMResearcher:
        if not options.llm_model:
            raise ValueError("--researcher llm needs --llm-model (and --llm-base-url for a local server)")
        price = require_price(  # before anything starts: an unknown price under a USD limit is bad input
            options.llm_model, task.limits.llm_usd, options.llm_base_url, options.llm_price, options.llm_prices
        )
        client, endpoint = client_from_options(options)
        tools = (
            Tools(operators=lambda: catalog_text(endpoint is not None))
            if getattr(options, "llm_tools", True)
            else None
        )
        researcher = cls(task, client, store, seed=options.seed, tools=tools, llm_endpoint=endpoint)
        researcher.usage.prices = {options.llm_model: price}
        return researcher

    # what every prompt says of the task ------------------------------------------------------
    def _common(self) -> dict[str, Any]:
        t = self.task
        return {"name": t.name, "objective": t.objective, "metric": t.eval.metric, "base_model": t.base_model}

    @cached_property
    def _data(self) -> str:
        return scratch.data_text(self.task) or render.pool_text(self.task)  # read once

    def _budget(self, budget: BudgetLeft | None = None) -> str:
        if budget is not None:
            return render.budget_text(budget, self.k)
        limits = self.task.limits
        wall = f"{limits.wall_clock_minutes:g} minutes" if limits.wall_clock_minutes else "no time limit"
        return f"{limits.max_iterations} nodes (this one included) and {wall}"

    def _ask(self, prompt: str, model: type[BaseModel], check: Any = None) -> Any:
        system = {"role": "system", "content": self.prompts.render("system")}
        return structured(self.client, [system, {"role": "user", "content": prompt}], model, self.usage, check=check)

    def _finish(self, plan: Plan, known: dict[str, TrainConfig]) -> None:
        """The checks a plan passes after its schema: unique names, valid recipes, possible warm starts, training rows
        of the evaluation's shape."""
        names = [c.name for c in plan.configs]
        if len(set(names)) != len(names):
            raise ValueError(f"config names must be unique, got {names}")
        for config in plan.configs:
            plan.recipe_for(config).validate_steps()
        check_plan(plan, known, self.task.eval)
        check_code_steps(plan)  # no LLM-written code where no strong sandbox holds it: the repair round says why
        scratch.check_built(plan, self.task)

    # planning --------------------------------------------------------------------------------
    def _root_plan(self) -> Plan:
        if scratch.builds_train_data(self.task):
            return scratch.scratch_root_plan(self)
        k = self.k
        prompt = self.prompts.render(
            "root", mode=self.task.eval.mode, budget=self._budget(), data=self._data,
            format=render.eval_format_text(self.task.eval), defaults=train_fields_text(self.task.training),
            operators=catalog_text(self.llm_endpoint is not None), k=k, **self._common(),
        )  # fmt: skip
        answer_model = plan_answer_model(k, self.llm_endpoint is not None, self.task.training)

        def check(answer: Any) -> None:
            self._finish(to_plan(answer, "establish_baseline", self.llm_endpoint), {})

        try:
            answer = self._ask(prompt, answer_model, check)
        except LLMError as exc:
            self._fall_back(exc, None, "root")
            return self.fallback._root_plan()
        finally:
            self._save_usage()
        return to_plan(answer, "establish_baseline", self.llm_endpoint)

    def _plan(self, context: PlanContext) -> Plan:
        parent = context.parent

        def cut(name: str, exc: LLMError) -> None:
            self._event("prompt_cut", parent.id, cut=name, during="plan", error=str(exc)[:300])

        try:
            found = self._research(context, parent)
            memory = f"{context.memory}\n\nLooked up before this choice:\n{found}" if found else context.memory
            parts = PromptParts(memory)
            common = {**self._common(), "mode": self.task.eval.mode, "budget": self._budget(context.budget),
                      "in_flight": render.in_flight_text(context.in_flight), "data": self._data,
                      "operators": catalog_text(self.llm_endpoint is not None)}  # fmt: skip
            strategy = lambda p: self.prompts.render("strategy", **self._shown(context, p), **common)  # noqa: E731
            choice = ask_shrinking(lambda p: self._ask(strategy(p), StrategyChoice), parts, cut)
            return ask_shrinking(
                lambda p: self._write_plan(context, choice, self._shown(context, p), common), parts, cut
            )
        except LLMError as exc:
            self._fall_back(exc, parent.id, "plan")
            return self.fallback._plan(context)
        finally:
            self._save_usage()

    def _shown(self, context: PlanContext, parts: PromptParts) -> dict[str, str]:
        """The parts of a strategy or plan prompt that a context overflow may cut."""
        return {
            "context": parts.memory,
            "parent": render.node_text(
                context.parent, self.task.eval.mode, seed=context.seed, bad_cases=parts.bad_cases
            ),
            "siblings": render.siblings_text(context.siblings, detail=parts.siblings),
        }

    def _fall_back(self, exc: LLMError, node_id: int | None, during: str) -> None:
        """The heuristic takes this one call: an event with the cause, and one line in the log."""
        self._event("researcher_fallback", node_id, error=str(exc)[:1000], cause=exc.kind, during=during)
        where = f" (child of node {node_id})" if node_id is not None else ""
        logger.warning("LLM researcher failed (%s) in %s%s; the heuristic takes this one", exc.kind, during, where)

    def _write_plan(
        self, context: PlanContext, choice: StrategyChoice, shown: dict[str, str], common: dict[str, Any]
    ) -> Plan:
        best = context.parent.best()
        known = context.known_trains()
        proposals = []
        if best is not None and best.train is not None and self.k > 1:
            proposals = propose_configs(
                self.task, context.observations, best.train, SUGGESTIONS, context.seed, warm_from=best, trains=known,
                pending=context.pending,
            )  # fmt: skip
        slot = [ConfigSpec(name="surrogate-1", train=proposals[0], source="surrogate")] if proposals else []
        k = self.k - len(slot)
        prompt = self.prompts.render(
            "plan", strategy=choice.strategy, rationale=choice.rationale, **shown,
            format=render.eval_format_text(self.task.eval), train_schema=train_fields_text(self.task.training),
            suggestions=render.suggestions_text(proposals, k), k=k, **common,
        )  # fmt: skip

        def build(answer: Any) -> Plan:
            plan = to_plan(answer, choice.strategy, self.llm_endpoint)
            return plan.model_copy(update={"configs": [*plan.configs, *slot]})

        answer = self._ask(
            prompt,
            plan_answer_model(k, self.llm_endpoint is not None, self.task.training),
            lambda a: self._finish(build(a), known),
        )
        return build(answer)

    def repair(
        self, plan: Plan, config: ConfigSpec, error_class: str | None, error: str, attempt: int = 1
    ) -> tuple[ConfigSpec, str] | None:
        """Ask the LLM for the smallest fix of a failed config; the heuristic rules when it cannot answer."""
        prompt = self.prompts.render(
            "repair", name=self.task.name, objective=self.task.objective, attempt=attempt, rounds=MAX_REPAIR_ROUNDS,
            error_class=error_class, error=error[:3000], config=config.model_dump_json(),
            recipe=plan.recipe.model_dump_json(), operators=catalog_text(self.llm_endpoint is not None),
        )  # fmt: skip

        def check(answer: Repair) -> None:
            if answer.fixable and answer.config is None:
                raise ValueError("a fixable answer needs the changed config")
            if answer.config is not None:
                plan.recipe_for(answer.config).validate_steps()

        try:
            answer = self._ask(prompt, Repair, check)
        except LLMError as exc:
            self._fall_back(exc, None, "repair")
            return super().repair(plan, config, error_class, error, attempt)
        finally:
            self._save_usage()
        if not answer.fixable or answer.config is None:
            return None
        return answer.config.model_copy(update={"name": config.name, "source": "repair"}), answer.change

    def _research(self, context: PlanContext, parent: NodeRecord) -> str:
        """Up to max_tool_calls tool calls chosen by the LLM; each call and its answer is recorded as an event."""
        if self.tools is None or self.max_tool_calls == 0:
            return ""
        self.tools.history = lambda: context.memory
        found: list[str] = []
        for _ in range(self.max_tool_calls):
            prompt = self.prompts.render(
                "research", parent=f"node {parent.id}: {parent.summary}", calls=self.max_tool_calls, tools=TOOL_HELP,
                found="\n".join(found) or "nothing", **self._common(),
            )  # fmt: skip
            call = self._ask(prompt, ToolCall)
            if call.done or call.tool is None:
                break
            answer = self.tools.run(call)
            found.append(f"[{call.tool}: {call.query}]\n{answer}")
            self._event("tool_call", parent.id, tool=call.tool, query=call.query, answer=answer[:2000])
        return "\n".join(found)

    def _event(self, kind: str, node_id: int | None, **data: Any) -> None:
        if self.store is not None:
            self.store.event(kind, node_id, **data)

    def _save_usage(self) -> None:
        if self.store is not None:
            usage = {
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
                "usd": self.usage.usd,
            }
            self.store.set_meta("llm_usage", usage)
