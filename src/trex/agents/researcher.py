"""LLMResearcher: plans nodes with an LLM, coarse to fine, validated against the AIDP schemas.

Step 1 asks for a strategy (one of four) with a rationale, given the memory context; step 2 asks
for a Plan of exactly ``configs_per_plan`` configs. Every recipe in the plan is validated against
the operator schemas, and an invalid answer goes back to the LLM with the error (``structured``).
The root plan is the heuristic's baseline (the same first dataset and grid a careful engineer
would start from). If the LLM cannot produce a valid plan, the heuristic plans the node instead
and the fallback is recorded as an event: the search goes on. Test scores never reach a prompt.
"""

from __future__ import annotations

import json
from importlib import resources
from string import Template
from typing import Any

import yaml
from pydantic import BaseModel, Field

from trex.agents.heuristic import HeuristicResearcher
from trex.agents.plan import ConfigSpec, NodeRecord, Plan, Strategy
from trex.agents.repair import MAX_REPAIR_ROUNDS
from trex.agents.tools import TOOL_HELP, ToolCall, Tools
from trex.aidp.catalog import catalog_text
from trex.llm.client import LLMClient, LLMError, LLMUsage, OpenAIClient
from trex.llm.local import LocalLlamaClient, is_local_model
from trex.llm.pricing import require_price
from trex.llm.structured import structured
from trex.store import Store
from trex.task import TaskSpec
from trex.train.config import TrainConfig


class Repair(BaseModel):
    fixable: bool
    change: str = ""
    config: ConfigSpec | None = None


class StrategyChoice(BaseModel):
    strategy: Strategy
    # bounded: under a JSON-schema grammar a small model can otherwise loop inside the string
    rationale: str = Field(max_length=1000)


def load_prompts() -> dict[str, str]:
    text = resources.files("trex.agents.prompts").joinpath("researcher.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def operator_catalog() -> str:
    """The operator list the researcher is given (the same text as ``trex aidp ops``)."""
    return catalog_text()


def _describe_parent(parent: NodeRecord) -> str:
    lines = [f"node {parent.id} ({parent.strategy}, val {parent.val_score}): {parent.summary}"]
    for o in parent.outcomes:
        train = o.train.model_dump(exclude_defaults=True) if o.train else {}
        lines.append(
            f"  config {o.name} [{o.job_hash}]: {o.status}, val {o.val_score}, train {train}, error {o.error}"
        )
        if o.diagnosis:
            lines.append(f"    error rate by label {o.diagnosis.error_rate_by_label}")
    return "\n".join(lines)


class LLMResearcher:
    name = "llm"

    def __init__(
        self,
        task: TaskSpec,
        client: LLMClient,
        store: Store | None = None,
        seed: int = 0,
        tools: Tools | None = None,
        max_tool_calls: int = 3,
    ) -> None:
        self.task = task
        self.client = client
        self.store = store
        self.tools = tools
        self.max_tool_calls = max_tool_calls
        stored = store.get_meta("llm_usage") if store is not None else None
        self.usage = LLMUsage(**stored) if stored else LLMUsage()  # a resumed run keeps counting
        self.prompts = load_prompts()
        self.fallback = HeuristicResearcher(task, seed=seed)

    @classmethod
    def from_options(cls, task: TaskSpec, options: Any, store: Store) -> LLMResearcher:
        if not options.llm_model:
            raise ValueError("--researcher llm needs --llm-model (and --llm-base-url for a local server)")
        price = require_price(  # before anything starts: an unknown price under a USD limit is bad input
            options.llm_model, task.limits.llm_usd, options.llm_base_url, options.llm_price, options.llm_prices
        )
        client: LLMClient
        if options.llm_base_url is None and is_local_model(options.llm_model):
            client = LocalLlamaClient(options.llm_model)  # offline: llama.cpp in this process
        else:
            client = OpenAIClient(options.llm_model, options.llm_base_url, options.llm_api_key_env)
        tools = Tools(operators=operator_catalog) if getattr(options, "llm_tools", True) else None
        researcher = cls(task, client, store, seed=options.seed, tools=tools)
        researcher.usage.prices = {options.llm_model: price}
        return researcher

    def root_plan(self) -> Plan:
        return self.fallback.root_plan()

    def _fill(self, key: str, **values: Any) -> str:
        return Template(self.prompts[key]).safe_substitute(**{k: str(v) for k, v in values.items()})

    def _check(self, plan: Plan) -> None:
        if len(plan.configs) != self.task.limits.configs_per_plan:
            raise ValueError(
                f"the plan needs exactly {self.task.limits.configs_per_plan} configs, got {len(plan.configs)}"
            )
        for config in plan.configs:
            plan.recipe_for(config).validate_steps()

    def repair(
        self, plan: Plan, config: ConfigSpec, error_class: str | None, error: str, attempt: int = 1
    ) -> tuple[ConfigSpec, str] | None:
        """Ask the LLM for the smallest fix of a failed config; the heuristic rules when it cannot answer."""
        prompt = self._fill(
            "repair",
            name=self.task.name,
            objective=self.task.objective,
            attempt=attempt,
            rounds=MAX_REPAIR_ROUNDS,
            error_class=error_class,
            error=error[:3000],
            config=config.model_dump_json(),
            recipe=plan.recipe.model_dump_json(),
            operators=operator_catalog(),
        )

        def check(answer: Repair) -> None:
            if answer.fixable and answer.config is None:
                raise ValueError("a fixable answer needs the changed config")
            if answer.config is not None:
                plan.recipe_for(answer.config).validate_steps()

        try:
            system = {"role": "system", "content": self.prompts["system"]}
            answer = structured(
                self.client, [system, {"role": "user", "content": prompt}], Repair, self.usage, check=check
            )
        except LLMError as exc:
            if self.store is not None:
                self.store.event("researcher_fallback", None, error=str(exc)[:1000], during="repair")
            return self.fallback.repair(plan, config, error_class, error)
        finally:
            self._save_usage()
        if not answer.fixable or answer.config is None:
            return None
        return answer.config.model_copy(update={"name": config.name}), answer.change

    def plan(
        self,
        parent: NodeRecord,
        grandparent: NodeRecord | None,
        siblings: list[NodeRecord],
        node_seed: int,
        context: str = "",
    ) -> Plan:
        common = {
            "name": self.task.name,
            "objective": self.task.objective,
            "metric": self.task.eval.metric,
            "base_model": self.task.base_model,
            "parent": _describe_parent(parent),
        }
        system = {"role": "system", "content": self.prompts["system"]}
        try:
            found = self._research(system, common, context, parent.id)
            if found:
                context = f"{context}\n\nLooked up before this choice:\n{found}"
            choice = structured(
                self.client,
                [system, {"role": "user", "content": self._fill("strategy", context=context, **common)}],
                StrategyChoice,
                self.usage,
            )
            prompt = self._fill(
                "plan",
                strategy=choice.strategy,
                rationale=choice.rationale,
                recipe=parent.plan.recipe.model_dump_json(),
                operators=operator_catalog(),
                train_schema=json.dumps(TrainConfig().model_dump()),
                k=self.task.limits.configs_per_plan,
                cap=self.task.limits.max_train_samples,
                **common,
            )
            plan = structured(
                self.client, [system, {"role": "user", "content": prompt}], Plan, self.usage, check=self._check
            )
        except LLMError as exc:
            if self.store is not None:
                self.store.event("researcher_fallback", parent.id, error=str(exc)[:1000])
            return self.fallback.plan(parent, grandparent, siblings, node_seed, context)
        finally:
            self._save_usage()
        return plan

    def _research(self, system: dict, common: dict[str, Any], context: str, node_id: int) -> str:
        """Up to max_tool_calls tool calls chosen by the LLM; each call and its answer is recorded as an event."""
        if self.tools is None or self.max_tool_calls == 0:
            return ""
        self.tools.history = lambda: context
        found: list[str] = []
        for _ in range(self.max_tool_calls):
            prompt = self._fill(
                "research", calls=self.max_tool_calls, tools=TOOL_HELP, found="\n".join(found) or "nothing", **common
            )
            call = structured(self.client, [system, {"role": "user", "content": prompt}], ToolCall, self.usage)
            if call.done or call.tool is None:
                break
            answer = self.tools.run(call)
            found.append(f"[{call.tool}: {call.query}]\n{answer}")
            if self.store is not None:
                self.store.event("tool_call", node_id, tool=call.tool, query=call.query, answer=answer[:2000])
        return "\n".join(found)

    def _save_usage(self) -> None:
        if self.store is not None:
            usage = {
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
                "usd": self.usage.usd,
            }
            self.store.set_meta("llm_usage", usage)
