"""The named choices of a run (researcher, scheduler, evaluation backend), written once.

A light module on purpose: the command line reads these names for its help and checks without importing the
run's heavy modules; ``RunOptions`` types its fields with them. The policy names live with the policies
(``trex.search.policies.POLICIES``).
"""

from __future__ import annotations

from typing import Literal, get_args

ResearcherName = Literal["heuristic", "llm", "random"]
SchedulerName = Literal["local", "ray", "slurm"]
EvalBackend = Literal["hf", "vllm"]
TrackBackend = Literal["trackio", "mlflow"]


def names(choice: object) -> str:
    """'a | b | c' for a Literal of choices (for help texts)."""
    return " | ".join(get_args(choice))
