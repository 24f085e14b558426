"""``trex run`` and ``trex resume``: parse the options, open the workspace, run the loop, print the outcome."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from trex.cli import options as opt
from trex.cli.common import console, fail, say, warn
from trex.cli.common import num as _num
from trex.run.options import RunLimits, RunOptions


def _run(workspace: Path, task_path: Path | None, given: Callable[[], RunOptions | RunLimits]) -> None:
    """``given`` builds the options of ``run`` (all of them) or ``resume`` (the limits given again); a value
    it refuses is exit 2, with the option named, as is every other refusal."""
    from trex.llm.client import LLMUnreachable
    from trex.run.workspace import open_resume, open_run, vet_run
    from trex.store import StoreError
    from trex.task.spec import TaskError, load_task

    try:  # every refusal comes before a model loads or the workspace is written; trex.run.loop imports for seconds
        options = given()
        if task_path is not None:
            assert isinstance(options, RunOptions)
            task = load_task(task_path)
            options.check_task(task, str(task_path))
            splits = vet_run(workspace, task, task_path)
            options.check_llm(task)
            scheduler = _scheduler(options, task, workspace)  # Ray checks that its nodes see the workspace
            from trex.run.loop import SearchLoop

            store, task = open_run(workspace, task, task_path, options, splits)
        else:
            store, task = open_resume(workspace)
            from trex.run.loop import SearchLoop

            options = options.onto(store.get_meta("options") or {})
            options.check_llm(task)
            scheduler = _scheduler(options, task, workspace)
            store.set_meta("options", options.model_dump())  # a later resume keeps the new limits
        loop = SearchLoop(store, task, options, scheduler=scheduler, listener=lambda m: say("trex", "cyan", m))
    except ValidationError as exc:  # run options: one line per problem, no pydantic banner
        fail("; ".join(_option_error(e) for e in exc.errors()), 2)
        return
    except (TaskError, StoreError, ValueError, ImportError, LLMUnreachable) as exc:  # ImportError: a missing extra
        fail(str(exc), 2)
        return
    except OSError as exc:  # an unwritable or vanished folder: bad input, named
        fail(f"{exc.filename or workspace}: {exc.strerror or exc}", 2)
        return
    if console.is_terminal:  # bars for the search and each running job; plain lines in a pipe or a log
        from trex.report.progress import RunProgress

        target = options.iterations or loop.task.limits.max_iterations
        with RunProgress(store.workspace, target, console) as progress:
            loop.say = progress.say
            summary = loop.run(on_iteration=lambda: _write_report(store))
            progress.refresh()
    else:
        summary = loop.run(on_iteration=lambda: _write_report(store))
    report = _write_report(store)
    limit = f" (limit: {summary.stopped_by})" if summary.stopped_by else ""
    say("stopped:", "green", f"{summary.stop_reason}{limit}; {summary.nodes} nodes")
    console.print(f"base model: val {_num(summary.base_val)}  test {_num(summary.base_test)}")
    console.print(f"best node {summary.best_node}: val {_num(summary.best_val)}  test {_num(summary.best_test)}")
    console.print(f"report: {report}")
    _warn_fallbacks(store)
    failure = no_success(store)
    if failure is not None:
        fail(failure, 1)


def _scheduler(options: RunOptions, task, workspace: Path):  # noqa: ANN001, ANN202 (TaskSpec, Scheduler: lazy)
    """The Ray scheduler, made before the workspace is written: a Ray node that cannot see the workspace is a
    refusal (``WorkspaceNotShared``, exit 2) that leaves nothing behind. None for the others: the loop makes them."""
    if options.scheduler != "ray":
        return None
    from trex.runtime import make_scheduler

    timeout_s = options.apply_limits(task).limits.job_timeout_minutes * 60
    return make_scheduler("ray", timeout_s, ray_address=options.ray_address, workspace=workspace)


def no_success(store) -> str | None:  # noqa: ANN001 (Store is imported lazily)
    """When no job of the run succeeded: the commonest error's innermost cause and a job folder to look in."""
    from collections import Counter

    results = store.finished_results()
    if not results or any(r.status == "ok" for r, _ in results):
        return None
    causes = Counter((r.error or r.error_class or "unknown error") for r, _ in results)
    cause, count = causes.most_common(1)[0]
    folder = next(w for r, w in results if (r.error or r.error_class or "unknown error") == cause)
    return f"no job succeeded ({len(results)} failed); the commonest cause ({count}x): {cause}; see {folder}"


def _warn_fallbacks(store) -> None:  # noqa: ANN001
    """The LLM researcher fell back to the heuristic: say so, with how often and the last reason."""
    rows = store.events("researcher_fallback")
    if rows:
        last = rows[-1]["data"].get("error", "")
        warn(f"the LLM researcher failed {len(rows)} time(s); the heuristic planned instead (last: {last[:200]})")


def _write_report(store) -> Path | None:  # noqa: ANN001 (Store is imported lazily)
    """A report that cannot be written is a warning: the search and its store matter more."""
    from trex.report.html import write_report

    try:
        return write_report(store)
    except Exception as exc:  # the report must never take the run down
        warn(f"report not written: {type(exc).__name__}: {exc}")
        return None


def _weak_sandbox(allowed: bool) -> None:
    """The jobs inherit the choice through the environment (trex.sandbox.runner reads it)."""
    if allowed:
        import os

        os.environ["TREX_ALLOW_WEAK_SANDBOX"] = "1"
        warn("--allow-weak-sandbox: LLM-written code may run with only the interpreter's audit hook around it")


def run(
    task: Annotated[Path, typer.Argument(help="task file (YAML)")],
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="folder for the run's store and artifacts")],
    iterations: opt.Iterations = None,
    policy: opt.Policy = "mcts",
    researcher: opt.Researcher = "heuristic",
    scheduler: opt.Scheduler = "local",
    seed: opt.Seed = 0,
    llm_model: opt.LlmModel = None,
    llm_base_url: opt.LlmBaseUrl = None,
    llm_api_key_env: opt.LlmApiKeyEnv = "OPENAI_API_KEY",
    llm_price: opt.LlmPrice = None,
    llm_prices: opt.LlmPrices = None,
    ray_address: opt.RayAddress = None,
    slurm_partition: opt.SlurmPartition = None,
    parallel_nodes: opt.ParallelNodes = None,
    max_train_samples: opt.MaxSamples = None,
    wall_clock_minutes: opt.WallClock = None,
    no_wall_clock: opt.NoWallClock = False,
    gpu_hours: opt.GpuHours = None,
    llm_usd: opt.LlmUsd = None,
    track: opt.Track = None,
    eval_backend: opt.Backend = "hf",
    allow_weak_sandbox: opt.WeakSandbox = False,
) -> None:
    """Run the search on TASK, writing everything under WORKSPACE."""
    _weak_sandbox(allow_weak_sandbox)
    if not task.exists():
        fail(f"{task}: task file not found", 2)
    options = partial(
        RunOptions,
        iterations=iterations,
        policy=policy,
        researcher=researcher,
        scheduler=scheduler,
        seed=seed,
        llm_model=llm_model,
        llm_base_url=llm_base_url,
        llm_api_key_env=llm_api_key_env,
        llm_price=_price(llm_price),
        llm_prices=str(llm_prices) if llm_prices is not None else None,
        ray_address=ray_address,
        slurm_partition=slurm_partition,
        parallel_nodes=parallel_nodes,
        max_train_samples=max_train_samples,
        wall_clock_minutes=wall_clock_minutes,
        no_wall_clock=no_wall_clock,
        gpu_hours=gpu_hours,
        llm_usd=llm_usd,
        track=track,
        eval_backend=eval_backend,
    )
    _run(workspace, task, options)


def _price(text: str | None) -> tuple[float, float] | None:
    from trex.llm.pricing import PriceError, parse_price

    try:
        return parse_price(text) if text is not None else None
    except PriceError as exc:
        fail(str(exc), 2)
        return None


def resume(
    workspace: Annotated[Path, typer.Argument(help="workspace of a stopped or killed run")],
    iterations: opt.Iterations = None,
    parallel_nodes: opt.ParallelNodes = None,
    max_train_samples: opt.MaxSamples = None,
    wall_clock_minutes: opt.WallClock = None,
    gpu_hours: opt.GpuHours = None,
    llm_usd: opt.LlmUsd = None,
    track: opt.Track = None,
    allow_weak_sandbox: opt.WeakSandbox = False,
) -> None:
    """Continue a stopped or killed run; finished jobs are never run again. Limits given here replace
    the stored ones (e.g. a larger --wall-clock-minutes to go on after a budget stop)."""
    _weak_sandbox(allow_weak_sandbox)
    limits = partial(
        RunLimits,
        iterations=iterations,
        parallel_nodes=parallel_nodes,
        max_train_samples=max_train_samples,
        wall_clock_minutes=wall_clock_minutes,
        gpu_hours=gpu_hours,
        llm_usd=llm_usd,
        track=track,
    )
    _run(workspace, None, limits)


def _option_error(error: dict) -> str:
    """One pydantic error of RunOptions as the command line names it: ``--policy: Input should be ...``."""
    message = error["msg"].removeprefix("Value error, ")
    field = next((str(part) for part in error.get("loc", ()) if isinstance(part, str)), None)
    return f"--{field.replace('_', '-')}: {message}" if field else message
