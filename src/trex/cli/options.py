"""Every option of ``trex run``, ``trex resume`` and ``trex bench run``, declared once as a typer alias.

The commands take these aliases, so a name, a bound or a help text cannot drift between them. Choices come from
their one definition (``trex.run.choices``, ``trex.search.policies.POLICIES``); the values are checked by
``RunOptions`` itself, whose errors name the option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trex.run.choices import EvalBackend, ResearcherName, SchedulerName, names
from trex.search.policies import POLICIES

Iterations = Annotated[int | None, typer.Option(min=1, help="nodes in the tree, root included")]
Policy = Annotated[str, typer.Option(help=" | ".join(POLICIES))]
Researcher = Annotated[
    str, typer.Option(help=f"{names(ResearcherName)} (random: the control of benchmarks/researcher_vs_random.py)")
]
Scheduler = Annotated[str, typer.Option(help=names(SchedulerName))]
Seed = Annotated[int, typer.Option(help="seed of the search and the jobs")]
LlmModel = Annotated[
    str | None,
    typer.Option(
        help="model name for --researcher llm; without --llm-base-url, embedded:smollm2-135m-instruct "
        "or a .gguf path runs offline in llama.cpp (extra 'llamacpp')"
    ),
]
LlmBaseUrl = Annotated[str | None, typer.Option(help="OpenAI-compatible base URL")]
LlmApiKeyEnv = Annotated[str, typer.Option(help="environment variable holding the API key")]
LlmPrice = Annotated[
    str | None, typer.Option(help="PROMPT,COMPLETION: the LLM's USD per million tokens (for --llm-usd)")
]
LlmPrices = Annotated[
    Path | None, typer.Option(help="YAML/JSON file of model: [prompt, completion] USD per million tokens")
]
RayAddress = Annotated[str | None, typer.Option(help="Ray cluster address (default: local Ray)")]
SlurmPartition = Annotated[str | None, typer.Option(help="Slurm partition for --scheduler slurm")]
ParallelNodes = Annotated[
    int | None, typer.Option(min=1, help="nodes in flight at once (default: ceil(scheduler slots / configs))")
]
MaxSamples = Annotated[int | None, typer.Option(min=1, help="training rows per experiment (task: max_train_samples)")]
WallClock = Annotated[float | None, typer.Option(min=0.001, help="wall-clock budget of the run, all sessions")]
NoWallClock = Annotated[
    bool, typer.Option("--no-wall-clock", help="ignore the task's wall-clock budget: all its nodes, however long")
]
GpuHours = Annotated[float | None, typer.Option(min=0.0001, help="GPU-hour budget (job seconds x GPUs held)")]
LlmUsd = Annotated[float | None, typer.Option(min=0.0001, help="LLM budget in USD (researcher calls)")]
Track = Annotated[
    str | None,
    typer.Option(help="log every job to trackio or mlflow (local-first; extras 'trackio', 'mlflow')"),
]
Backend = Annotated[str, typer.Option(help=f"{names(EvalBackend)}: generate-mode evaluation via vLLM ($TREX_VLLM)")]
WeakSandbox = Annotated[
    bool,
    typer.Option(
        "--allow-weak-sandbox",
        help="run LLM-written code even where neither bubblewrap nor Landlock/seccomp is available "
        "(exec, fork and native file access are then unprotected)",
    ),
]
