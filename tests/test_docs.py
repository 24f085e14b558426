"""The docs stay true to the code: task-file fields, no development-machine paths, README size, links.

Fast: reads files and pydantic models only, trains nothing.

- ``docs/task-file.md`` documents every field of ``TaskSpec`` and of the pydantic models nested in it, by
  dotted name (``limits.wall_clock_minutes``) in the first cell of a table row, and documents no field that
  does not exist: adding or removing a field fails here until the page follows.
- No absolute path of a development machine appears in ``README.md``, ``docs/``, ``src/`` or
  ``benchmarks/`` (a user's checkout has none of them; code makes its folders with ``tempfile``).
- The README is a front page of at most 150 lines, and every relative link of ``README.md`` and
  ``docs/**/*.md`` points to a file that exists.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

from pydantic import BaseModel

try:
    from trex.task.spec import TaskSpec
except ImportError:  # before the move into the task package
    from trex.task import TaskSpec

ROOT = Path(__file__).resolve().parents[1]
TASK_PAGE = ROOT / "docs" / "task-file.md"
README_LINES = 150

# Fields the file writes elsewhere than the model holds them: the loader lifts `eval.split` to `eval_split`.
WRITTEN_AS = {"eval_split": "eval.split"}


def _models_in(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models inside an annotation: X, X | None, list[X], dict[str, X], tuple[X, ...]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, dict, tuple, set, frozenset):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def model_field_names(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every field of ``model`` and of the models nested in it, by dotted name as a task file writes it."""
    names: set[str] = set()
    for name, field in model.model_fields.items():
        dotted = WRITTEN_AS.get(prefix + name) or prefix + (field.alias or name)
        names.add(dotted)
        for nested in _models_in(field.annotation):
            names |= model_field_names(nested, dotted + ".")
    return names


def documented_field_names(text: str) -> set[str]:
    """The dotted names in the first cell of the page's table rows: | `limits.max_iterations` | ..."""
    return set(re.findall(r"^\| `([A-Za-z_][\w.]*)` \|", text, flags=re.MULTILINE))


def test_task_page_documents_every_field():
    documented = documented_field_names(TASK_PAGE.read_text(encoding="utf-8"))
    fields = model_field_names(TaskSpec)
    assert not fields - documented, f"fields missing from docs/task-file.md: {sorted(fields - documented)}"
    assert not documented - fields, f"docs/task-file.md documents no such field: {sorted(documented - fields)}"


def test_field_walk_reaches_nested_models():
    names = model_field_names(TaskSpec)
    assert {"limits.wall_clock_minutes", "eval.metric", "training.lora_r", "eval.split.from"} <= names


# An absolute path of a development machine: the project's work tree and run folders, a named folder under
# the temp directory, a home folder, a macOS or Windows user folder. A bare `/tmp` (no name after it) and
# `~/.cache/...` (every user's own cache) are generic and allowed.
DEV_PATH = re.compile(
    r"(?<![\w.~-])("
    r"/work/[\w.-]+"
    r"|/tmp/[\w.-]+"
    r"|/root/"
    r"|/home/[\w.-]+"
    r"|/Users/[\w.-]+"
    r"|/var/folders/"
    r"|[A-Za-z]:\\(?:Users|Documents and Settings)\\"
    r")"
)
TEXT_SUFFIXES = {".md", ".py", ".yaml", ".yml", ".toml", ".txt", ".sh", ".sql", ".html", ".json", ".cfg", ".ini"}


def _text_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for tree in ("docs", "src", "benchmarks"):
        files += [
            p
            for p in sorted((ROOT / tree).rglob("*"))
            if p.is_file() and p.suffix in TEXT_SUFFIXES and ".egg-info" not in str(p) and "__pycache__" not in str(p)
        ]
    return files


def dev_path_hits(files: list[Path]) -> list[str]:
    hits = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            for match in DEV_PATH.finditer(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {match.group(1)}")
    return hits


def test_dev_path_pattern():
    flagged = ["/work/runs/demo", "cd /work/main", "flock /tmp/trex-cpu.lock", "/root/.cache", "/home/alice/x"]
    flagged += ["/Users/bob/x", r"C:\Users\bob"]
    allowed = ["~/.cache/trex", "runs/demo", "a /tmp folder", "src/trex/work/x.py", "https://x.org/home/y"]
    assert all(DEV_PATH.search(text) for text in flagged)
    assert not any(DEV_PATH.search(text) for text in allowed)


def test_no_development_machine_paths():
    hits = dev_path_hits(_text_files())
    assert not hits, "paths of a development machine:\n" + "\n".join(hits)


def test_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_LINES, f"README.md has {len(lines)} lines (at most {README_LINES})"


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def broken_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)  # code is not links
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL (https:, mailto:) or an anchor on the same page
        file = target.split("#", 1)[0]
        if not (page.parent / file).exists():
            broken.append(f"{page.relative_to(ROOT)}: {target}")
    return broken


def test_relative_links_point_to_files():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    broken = [b for page in pages for b in broken_links(page)]
    assert not broken, "links to no file:\n" + "\n".join(broken)
