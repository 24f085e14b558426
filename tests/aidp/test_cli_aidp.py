"""`trex aidp ops` and `trex aidp run` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

PAPER_OPERATORS = {
    "load_local_dataset",
    "load_remote_dataset",
    "compute_perplexity",
    "score_dataset_with_llm",
    "generate_text_embeddings",
    "generate_dataset_with_llm",
    "generate_preference_dataset",
    "deduplicate_by_text_hash",
    "select_by_filter",
    "select_by_score",
    "select_by_random",
}


def trex(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trex", *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_ops_lists_every_operator_with_schema_and_doc() -> None:
    out = trex("aidp", "ops", "--json")
    assert out.returncode == 0, out.stderr
    entries = json.loads(out.stdout)
    names = {e["name"] for e in entries}
    assert names >= PAPER_OPERATORS and {"deduplicate_near", "decontaminate", "mix_datasets"} <= names
    for e in entries:
        assert set(e) == {"name", "category", "doc", "schema"} and e["doc"] and e["schema"]["type"] == "object"
    from trex.agents.llm.answer import catalog_text, visible_operators

    catalog = catalog_text(has_llm=True)
    offered = set(visible_operators(True))
    assert offered and "decontaminate" not in offered  # trex appends it itself: the researcher cannot misuse it
    assert all(e["doc"] in catalog for e in entries if e["name"] in offered)  # the researcher reads the same text
    assert "select_by_score" in trex("aidp", "ops").stdout


def test_run_writes_data_stats_and_a_stable_fingerprint(tmp_path: Path) -> None:
    rows = [{"text": t, "label": "x"} for t in ["a b c d", "A  b c d", "e f g h", "short", "i j k l m"]]
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"- op: load_local_dataset\n  args: {{path: {data}}}\n"
        "- op: deduplicate_by_text_hash\n"
        "- op: select_by_filter\n  args: {expression: 'len(text) > 5'}\n"
    )
    out = trex("aidp", "run", str(recipe), "--out", str(tmp_path / "out"))
    assert out.returncode == 0, out.stderr
    table = pq.read_table(tmp_path / "out" / "data.parquet").to_pylist()
    assert [r["text"] for r in table] == ["a b c d", "e f g h", "i j k l m"]
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert [(s["rows_in"], s["rows_out"], s["reason"]) for s in stats][1:] == [
        (5, 4, "exact duplicate of an earlier row"),
        (4, 3, "the expression is false"),
    ]
    key = out.stdout.split("fingerprint: ")[1].split()[0]
    again = trex("aidp", "run", str(recipe), "--out", str(tmp_path / "again"))
    assert again.stdout.split("fingerprint: ")[1].split()[0] == key
    assert trex("aidp", "run", str(recipe), "--out", str(tmp_path / "out")).returncode == 2  # never overwrites


def test_a_bad_recipe_fails_before_any_work_with_the_step(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text('{"text": "x", "label": "y"}\n')
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(
        f"- op: load_local_dataset\n  args: {{path: {data}}}\n"
        "- op: select_by_score\n  args: {column: quality, top_k: 1}\n"
    )
    out = trex("aidp", "run", str(recipe), "--out", str(tmp_path / "out"))
    assert out.returncode == 2
    assert "step 2 (select_by_score): column(s) ['quality'] not in the data" in out.stderr
    assert not (tmp_path / "out").exists()
    recipe.write_text("- op: dedupe_magic\n")
    assert (
        "step 1: unknown operator 'dedupe_magic'"
        in trex("aidp", "run", str(recipe), "--out", str(tmp_path / "o")).stderr
    )


def test_recipe_paths_are_relative_to_the_recipe_file(tmp_path: Path) -> None:
    folder, elsewhere = tmp_path / "recipes", tmp_path / "elsewhere"
    (folder / "data").mkdir(parents=True)
    elsewhere.mkdir()
    (folder / "data" / "rows.jsonl").write_text("".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(4)))
    (folder / "data" / "more.jsonl").write_text("".join(json.dumps({"text": f"more {i}"}) + "\n" for i in range(4)))
    recipe = folder / "recipe.yaml"
    recipe.write_text(
        "- op: load_local_dataset\n  args: {path: data/rows.jsonl}\n"
        "- op: mix_datasets\n  args: {sources: [{path: data/more.jsonl, ratio: 1, name: more}], n: 4}\n"
    )
    for cwd in (folder, elsewhere):  # the same recipe from its own folder and from another one
        out = trex("aidp", "run", str(recipe), "--out", str(tmp_path / f"out-{cwd.name}"), cwd=cwd)
        assert out.returncode == 0, out.stderr
        rows = pq.read_table(tmp_path / f"out-{cwd.name}" / "data.parquet").to_pylist()
        assert sorted(r["source"] for r in rows) == ["input", "input", "more", "more"]


def test_every_source_of_every_step_is_checked_before_any_step_runs(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(4)))
    (tmp_path / "latin.csv").write_bytes("text\ncaf\xe9\n".encode("latin-1"))
    recipe = tmp_path / "recipe.yaml"
    for step, named in (
        ("mix_datasets\n  args: {sources: [{path: missing.jsonl, ratio: 1}]}", "missing.jsonl"),
        ("mix_datasets\n  args: {sources: [{path: latin.csv, ratio: 1}]}", "latin.csv:2: not valid utf-8"),
        ("decontaminate\n  args: {against: [gone/*.jsonl]}", "no file matches"),
    ):
        recipe.write_text(f"- op: load_local_dataset\n  args: {{path: {data}}}\n- op: {step}\n")
        out = trex("aidp", "run", str(recipe), "--out", str(tmp_path / "out"))
        assert out.returncode == 2, out.stderr
        assert "step 2 (" in out.stderr and named in out.stderr, out.stderr
        assert not (tmp_path / "out").exists()


def test_a_code_step_is_refused_at_the_door_without_a_strong_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No bubblewrap, no Landlock: exit 2 naming the step before any step runs; --allow-weak-sandbox runs it."""
    import trex.sandbox.runner as runner
    from trex.cli.app import app

    monkeypatch.setattr(runner, "bwrap_available", lambda: False)
    monkeypatch.setattr(runner, "kernel_walls_available", lambda: False)
    monkeypatch.delenv(runner.WEAK_ENV, raising=False)
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps({"text": f"row {i}", "n": i}) + "\n" for i in range(4)))
    recipe = tmp_path / "recipe.yaml"
    code = "def keep(row):\\n    return row['n'] % 2 == 0\\n"
    recipe.write_text(
        f'- op: load_local_dataset\n  args: {{path: {data}}}\n- op: select_by_filter\n  args: {{code: "{code}"}}\n'
    )
    out = CliRunner().invoke(app, ["aidp", "run", str(recipe), "--out", str(tmp_path / "out")])
    assert out.exit_code == 2, out.output
    assert "step 2 (select_by_filter) runs LLM-written code" in out.output and "--allow-weak-sandbox" in out.output
    assert not (tmp_path / "out").exists()
    out = CliRunner().invoke(app, ["aidp", "run", str(recipe), "--out", str(tmp_path / "out"), "--allow-weak-sandbox"])
    assert out.exit_code == 0, out.output
    assert sorted(r["n"] for r in pq.read_table(tmp_path / "out" / "data.parquet").to_pylist()) == [0, 2]
