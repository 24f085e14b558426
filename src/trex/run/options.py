"""The options of a run (``RunOptions``: what ``trex run`` and ``trex resume`` accept) and its outcome.

Limits given here override the task file's (``apply_limits``); ``no_wall_clock`` drops the task's wall-clock
budget (a search of its node count, however long it takes: what ``benchmarks/researcher_vs_random.py``
compares). ``parallel_nodes`` is how many nodes of the tree are in flight at once; the default fills the
scheduler's slots (about ``default_parallel_nodes``).
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field, field_validator, model_validator

from trex.run.choices import EvalBackend, ResearcherName, SchedulerName, TrackBackend
from trex.search.policies import POLICIES
from trex.store import Store
from trex.task.spec import TaskSpec


def default_parallel_nodes(slots: int, configs: int) -> int:
    """ceil(slots / configs per node): enough nodes in flight for their jobs to fill every slot (1 on one slot)."""
    return max(1, math.ceil(slots / max(1, configs)))


class RunLimits(BaseModel):
    """What ``trex resume`` may change of a stored run: its limits, its parallelism and its tracking."""

    iterations: int | None = Field(default=None, ge=1)
    # nodes in flight at once; None: a node starts whenever fewer jobs than slots are in flight (about
    # ceil(slots / configs per node) nodes), so every slot stays busy; 1 on a one-slot machine
    parallel_nodes: int | None = Field(default=None, ge=1)
    track: TrackBackend | None = None  # log every job to trackio or MLflow
    # overrides of the task file's limits (None: the task's value)
    max_train_samples: int | None = Field(default=None, ge=1)
    wall_clock_minutes: float | None = Field(default=None, gt=0)
    no_wall_clock: bool = False  # run without the task's wall-clock budget
    gpu_hours: float | None = Field(default=None, gt=0)
    llm_usd: float | None = Field(default=None, gt=0)

    def onto(self, stored: dict) -> RunOptions:
        """The stored options of a run with these limits given again: a value given replaces the stored one, and
        a new wall-clock budget replaces a stored "no wall clock"."""
        given = self.model_dump(exclude_none=True, exclude={"no_wall_clock"})
        if self.wall_clock_minutes is not None:
            given["no_wall_clock"] = False
        return RunOptions.model_validate({**stored, **given})


class RunOptions(RunLimits):
    policy: str = "mcts"
    researcher: ResearcherName = "heuristic"
    scheduler: SchedulerName = "local"
    seed: int = 0
    llm_model: str | None = None
    llm_base_url: str | None = None
    llm_api_key_env: str = "OPENAI_API_KEY"
    llm_price: tuple[float, float] | None = None  # USD per million prompt, completion tokens (trex.llm.pricing)
    llm_prices: str | None = None  # a prices file: model -> [prompt, completion]
    llm_tools: bool = True  # the LLM researcher may search arXiv and the Hub before choosing a strategy
    ray_address: str | None = None
    slurm_partition: str | None = None
    memory_tokens: int = 2000
    eval_backend: EvalBackend = "hf"  # generate-mode evaluation through a vLLM server

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, name: str) -> str:
        if name not in POLICIES:
            raise ValueError(f"unknown policy {name!r}: one of {', '.join(POLICIES)}")
        return name

    def apply_limits(self, task: TaskSpec) -> TaskSpec:
        """The task with this run's limit overrides applied."""
        names = ("max_train_samples", "wall_clock_minutes", "gpu_hours", "llm_usd")
        changes = {name: getattr(self, name) for name in names if getattr(self, name) is not None}
        if self.no_wall_clock:
            changes["wall_clock_minutes"] = None
        return task.model_copy(update={"limits": task.limits.model_copy(update=changes)}) if changes else task

    @model_validator(mode="after")
    def _one_wall_clock(self) -> RunOptions:
        if self.no_wall_clock and self.wall_clock_minutes is not None:
            raise ValueError("--no-wall-clock and --wall-clock-minutes: give one of them")
        return self

    def check_task(self, task: TaskSpec, source: str) -> None:
        """Refuse, before the workspace is touched, a task this run's researcher cannot start from: without training
        data only the LLM researcher starts (it builds a training set, ``trex.agents.llm.scratch``)."""
        if task.train_data is None and task.eval_split is None and self.researcher != "llm":
            raise ValueError(  # eval.split's other rows are training data
                f"{source}: train_data: the {self.researcher} researcher needs train_data in the task file; "
                "--researcher llm can build a training set from the Hub and from synthesis"
            )

    def check_llm(self, task: TaskSpec) -> None:
        """Before anything is written: a USD limit needs the model's price (``PriceError``), then one minimal
        request to the LLM researcher's server: a refused connection, 401/403 or 404 raises ``LLMUnreachable``
        with the cause; any other answer lets the run start."""
        from trex.llm.client import OpenAIClient, check_endpoint
        from trex.llm.local import is_local_model
        from trex.llm.pricing import require_price

        if self.researcher != "llm":
            return
        usd = self.apply_limits(task).limits.llm_usd
        require_price(self.llm_model or "", usd, self.llm_base_url, self.llm_price, self.llm_prices)
        if self.llm_base_url is None and is_local_model(self.llm_model or ""):
            return
        check_endpoint(OpenAIClient(self.llm_model or "", self.llm_base_url, self.llm_api_key_env, max_retries=0))

    @model_validator(mode="after")
    def _llm_needs_a_model(self) -> RunOptions:
        if self.researcher == "llm" and not self.llm_model:
            raise ValueError("--researcher llm needs --llm-model (and --llm-base-url for a local server)")
        return self


class RunSummary(BaseModel):
    nodes: int
    stop_reason: str
    stopped_by: str | None = None  # the limit that stopped the run: iterations, wall_clock_minutes, ...
    best_node: int | None
    best_val: float | None
    best_test: float | None
    base_val: float | None
    base_test: float | None


def summarize(store: Store, stop_reason: str = "", stopped_by: str | None = None) -> RunSummary:
    tree = store.load_tree()
    best = tree.best()
    base = store.get_meta("base") or {}
    return RunSummary(
        nodes=len(tree),
        stop_reason=stop_reason,
        stopped_by=stopped_by,
        best_node=best.id if best else None,
        best_val=best.val_score if best else None,
        best_test=best.test_score if best else None,
        base_val=base.get("val"),
        base_test=base.get("test"),
    )
