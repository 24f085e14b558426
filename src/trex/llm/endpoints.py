"""Named LLM endpoints: a plan's operator arguments say ``llm: researcher``; the process that runs them resolves it.

A run registers each endpoint it offers (``register``) in its own environment: the model, the base URL
without its userinfo and the *name* of the variable that holds the key go into ``TREX_LLM_ENDPOINT_<NAME>``;
the URL's userinfo (``user:password``), when it has one, goes into ``TREX_LLM_USERINFO_<NAME>``. Job
processes inherit the run's environment (the local scheduler, and Slurm's default ``--export=ALL``; the Ray
scheduler passes ``job_environment`` in each task's runtime environment), and ``resolve`` reads them back there.

Guarantee: what a plan, a job, ``job.json`` or a report holds is the name only; the userinfo and the key
live in process environments, never in a file trex writes. Not guaranteed: that a process which dumps its
environment (a crash reporter, ``env`` in a job's shell) keeps them out of its own output, nor that Ray keeps a
runtime environment's variables out of its cluster metadata (its dashboard shows a task's runtime environment).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import MutableMapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

PREFIX, USERINFO = "TREX_LLM_ENDPOINT_", "TREX_LLM_USERINFO_"
RESEARCHER = "researcher"  # the endpoint of the run's own LLM (``--llm-model``/``--llm-base-url``)


class UnknownEndpoint(LookupError):
    """A name no run registered in this process's environment."""


@dataclass(frozen=True)
class Endpoint:
    model: str
    base_url: str | None  # with its userinfo when resolved, without it when stored in the environment
    api_key_env: str = "OPENAI_API_KEY"


def split_userinfo(url: str | None) -> tuple[str | None, str | None]:
    """(the URL without ``user:password@``, the userinfo or None)."""
    if not url:
        return url, None
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=host)), userinfo


def _variable(prefix: str, name: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def register(name: str, endpoint: Endpoint, environ: MutableMapping[str, str] | None = None) -> None:
    """Offer ``endpoint`` under ``name`` to this process and the job processes it starts."""
    environ = os.environ if environ is None else environ
    clean, userinfo = split_userinfo(endpoint.base_url)
    record = {"model": endpoint.model, "base_url": clean, "api_key_env": endpoint.api_key_env}
    environ[_variable(PREFIX, name)] = json.dumps(record)
    if userinfo is not None:
        environ[_variable(USERINFO, name)] = userinfo
    else:
        environ.pop(_variable(USERINFO, name), None)


def resolve(name: str, environ: MutableMapping[str, str] | None = None) -> Endpoint:
    """The endpoint registered under ``name``, its URL whole again (userinfo put back)."""
    environ = os.environ if environ is None else environ
    raw = environ.get(_variable(PREFIX, name))
    if raw is None:
        raise UnknownEndpoint(
            f"no LLM endpoint named {name!r} here: it is registered by the run that offers it "
            f"(--researcher llm with --llm-base-url), or set {_variable(PREFIX, name)} to "
            '{"model": ..., "base_url": ..., "api_key_env": ...}'
        )
    record = json.loads(raw)
    url, userinfo = record.get("base_url"), environ.get(_variable(USERINFO, name))
    if url and userinfo:
        parts = urlsplit(url)
        url = urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))
    return Endpoint(record["model"], url, record.get("api_key_env", "OPENAI_API_KEY"))


def job_environment(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """What a job process on another machine needs to resolve this process's endpoints: every ``TREX_LLM_*``
    variable and the key variable each registered endpoint names (when set). For schedulers whose jobs do not
    inherit the run's environment (Ray: ``runtime_env``)."""
    environ = os.environ if environ is None else environ
    env = {k: v for k, v in environ.items() if k.startswith(PREFIX) or k.startswith(USERINFO)}
    for key, raw in list(env.items()):
        if key.startswith(PREFIX):
            name = json.loads(raw).get("api_key_env", "OPENAI_API_KEY")
            if name in environ:
                env[name] = environ[name]
    return env
