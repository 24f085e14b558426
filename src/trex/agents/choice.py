"""Which researcher plans a run: the heuristic (the default), the LLM, or random choice (the heuristic's control)."""

from __future__ import annotations

from typing import Any

from trex.agents.heuristic.researcher import HeuristicResearcher
from trex.agents.random_researcher import RandomResearcher
from trex.agents.researcher import Researcher
from trex.store import Store
from trex.task.spec import TaskSpec


def make_researcher(task: TaskSpec, options: Any, store: Store) -> Researcher:  # noqa: ANN401 (RunOptions, a floor up)
    """``options.researcher`` names it; the LLM researcher reads its endpoint and budget from ``options``."""
    if options.researcher == "llm":
        from trex.agents.llm.researcher import LLMResearcher

        return LLMResearcher.from_options(task, options, store)
    if options.researcher == "random":
        return RandomResearcher(task, seed=options.seed)
    return HeuristicResearcher(task, seed=options.seed)
