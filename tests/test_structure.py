"""The package's shape: floors with imports pointing down only, no cycle, short modules, core-only imports.

A feature whose extra is missing must fail with a one-line ``pip install 'trex[...]'`` message, at the
point it is used, never at import. The optional packages are blocked in a fresh interpreter, which is
what a core-only install looks like to trex.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
OPTIONAL = (
    "ray", "submitit", "rdkit", "sentence_transformers", "xllamacpp", "trackio", "mlflow", "arxiv", "polars",
    "datasketch", "bitsandbytes", "selenium",
)  # fmt: skip


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(SRC).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _imports(path: Path, module: str, modules: set[str]) -> set[str]:
    """Every trex module ``module`` imports (at the top or inside a function), resolved to a module of the package."""
    found = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or node.level):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets = [base, *(f"{base}.{a.name}" for a in node.names)]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != module and not module.startswith(target + "."):
                found.add(target)
    return found


# Every top-level package and module of trex has a floor; an import (at the top, inside a function or under
# TYPE_CHECKING) may only point to a lower floor or stay inside its own package. Written once, here.
FLOORS = {
    "trex.__main__": 13,
    "trex.cli": 12,
    "trex.bench": 11,
    "trex.report": 10,
    "trex.run": 9,
    "trex.agents": 8,
    "trex.store": 7,
    "trex.runtime": 6,
    "trex.plan": 6,
    "trex.task": 5,
    "trex.evaluation": 4,
    "trex.aidp": 3,
    "trex.train": 2,
    "trex.sandbox": 2,
    "trex.llm": 2,
    "trex.search": 2,
    "trex.assets": 1,
    "trex": 0,
}
MAX_LINES = 300


def _top(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in (SRC / "trex").rglob("*.py")}
    return {m: _imports(p, m, set(paths)) for m, p in paths.items()}


def test_every_package_has_a_floor_and_imports_point_down() -> None:
    graph = _graph()
    unplaced = sorted({_top(m) for m in graph} - set(FLOORS))
    assert not unplaced, f"give these a floor in FLOORS: {unplaced}"
    upward = [
        f"{m} -> {t}"
        for m, targets in graph.items()
        for t in targets
        if _top(m) != _top(t) and FLOORS[_top(t)] >= FLOORS[_top(m)]
    ]
    assert not upward, "imports that do not point down:\n" + "\n".join(sorted(upward))


def test_loose_modules_are_few() -> None:
    loose = sorted(p.name for p in (SRC / "trex").glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert len(loose) <= 4, loose


def test_no_module_over_300_lines() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in (SRC / "trex").rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules (at most {MAX_LINES} lines): {long}"


def test_no_import_cycle() -> None:
    graph = _graph()
    done: set[str] = set()

    def visit(module: str, stack: list[str]) -> None:
        if module in stack:
            cycle = stack[stack.index(module) :] + [module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, [*stack, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


CORE_ONLY = f"""
import importlib, pkgutil, sys
# None in sys.modules: importing raises ModuleNotFoundError and find_spec answers None, as when not installed
for name in {OPTIONAL!r}:
    sys.modules[name] = None
import trex
for info in pkgutil.walk_packages(trex.__path__, "trex."):
    if info.name not in ("trex.__main__", "trex.sandbox.harness"):  # scripts: they run when imported
        importlib.import_module(info.name)
"""

FEATURES = """
import tempfile
from pathlib import Path

def message(call):
    try:
        call()
    except Exception as exc:  # the error a user sees
        return str(exc)
    return "no error"

from trex.runtime import make_scheduler
from trex.run.tracking import make_tracker
from trex.llm.local import LocalLlamaServer
from trex.bench.chem import _mol
from trex.aidp.generators import EmbedParams, generate_text_embeddings
from trex.agents.llm.tools import Tools
from datasets import Dataset

ws = Path(tempfile.mkdtemp())
messages = {
    "ray": message(lambda: make_scheduler("ray", 60)),
    "slurm": message(lambda: make_scheduler("slurm", 60, slurm_folder=str(ws))),
    "trackio": message(lambda: make_tracker("trackio", "p", ws)),
    "mlflow": message(lambda: make_tracker("mlflow", "p", ws)),
    "llamacpp": message(lambda: LocalLlamaServer(ws / "m.gguf")),
    "chem": message(lambda: _mol("CCO")),
    "embed": message(lambda: generate_text_embeddings(Dataset.from_dict({"text": ["a"]}), EmbedParams())),
    "research": Tools(arxiv_url="http://127.0.0.1:9/api")._arxiv("lora"),
}
for extra, text in messages.items():
    assert f"pip install 'trex[{extra}]'" in text and "\\n" not in text, (extra, text)
print("ok", len(messages))
"""


def test_every_module_imports_with_the_core_install_and_extras_fail_in_one_line() -> None:
    code = textwrap.dedent(CORE_ONLY) + textwrap.dedent(FEATURES)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok 8"
