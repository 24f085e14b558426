"""The static report from a hand-built store: scores, tree, best node, normalized gain, escaping."""

from __future__ import annotations

import json
from pathlib import Path

from trex.report.html import render_report, write_report
from trex.search.policies import backpropagate
from trex.search.tree import DONE
from trex.store import Store


def _store(tmp_path: Path, reference: float | None) -> Store:
    store = Store(tmp_path)
    store.set_meta("task_name", "demo<task>")
    store.set_meta("objective", "Label <b>things</b>")
    store.set_meta("reference_score", reference)
    store.set_meta("base", {"val": 0.5, "test": 0.6})
    plan = json.dumps({"strategy": "establish_baseline", "change": "first grid", "rationale": "why"})
    root = store.add_node(None, 0, "establish_baseline", plan, [("h1", '{"train": {"lr": 1}}', "c1")])
    child = store.add_node(root, 1, "refine_data", plan, [("h2", '{"train": {"lr": 2}}', "c2")])
    store.finish_job("h1", "ok", json.dumps({"validation": {"score": {"value": 0.7}}}), "w")
    tree = store.load_tree()
    for node_id, val, test in [(root, 0.7, 0.75), (child, 0.8, 0.8)]:
        node = tree.nodes[node_id]
        node.status, node.val_score, node.test_score, node.reward = DONE, val, test, val
        store.finish_node(node, None, "insight text", None, backpropagate(tree, node_id, val))
    return store


def test_report_shows_scores_tree_and_gain(tmp_path: Path) -> None:
    page = render_report(_store(tmp_path, reference=0.9))
    assert "0.500 / 0.600" in page  # base model
    assert "best node 2" in page and "0.800 / 0.800" in page
    assert "0.667" in page  # gain (0.8 - 0.6) / (0.9 - 0.6) on test
    assert 'href="#node-2" class="tree-node" data-node="2"' in page and 'stroke-width="4"' in page  # best path
    assert '<details class="node" id="node-2" open>' in page and "★ best" in page
    assert "trex replay" in page and "--node 2 --out tuned-model" in page  # how to reuse the best node
    assert 'class="val"' in page  # the best-so-far curve
    assert "demo&lt;task&gt;" in page and "<b>things</b>" not in page  # user text is escaped
    assert "http" not in page.replace("http-equiv", "")  # self-contained: no external resource


def test_gain_refused_when_reference_equals_base(tmp_path: Path) -> None:
    page = render_report(_store(tmp_path, reference=0.6))
    assert "normalized gain is undefined" in page
    assert write_report(_store(tmp_path / "again", reference=None)).read_text().count("–") > 0
