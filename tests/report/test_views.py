"""The report's pictures, its view of large trees, and `trex serve` updating while a run adds nodes."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from trex.report.html import render_report
from trex.report.serve import make_server
from trex.report.status import focus_nodes
from trex.report.svg import best_so_far, reward_colour, tree_svg
from trex.search.policies import backpropagate
from trex.search.tree import DONE, FAILED
from trex.store import Store


def _node(i: int, parent: int | None, depth: int, val: float | None, status: str = "done") -> dict:
    return {
        "id": i, "parent": parent, "depth": depth, "strategy": "refine_data", "status": status, "visits": 1,
        "value": val or 0.0, "reward": val, "val_score": val, "test_score": val,
    }  # fmt: skip


def test_tree_picture_marks_best_path_failures_and_links() -> None:
    nodes = [_node(1, None, 0, 0.5), _node(2, 1, 1, 0.9), _node(3, 1, 1, None, "failed"), _node(4, 2, 2, 0.7)]
    svg = tree_svg(nodes, best_id=2)
    assert svg.count("<circle") == 4 and svg.count('href="#node-') == 4
    assert svg.count('stroke="#1a7f37" stroke-width="4"') == 3  # edge 1-2, rings of nodes 1 and 2
    assert 'stroke="#a33"' in svg  # the failed node's cross
    assert reward_colour(0.0) == "hsl(0, 65%, 55%)" and reward_colour(1.0) == "hsl(120, 65%, 55%)"


def test_best_so_far_keeps_the_best_validation_and_its_test() -> None:
    nodes = [_node(1, None, 0, 0.5), _node(2, 1, 1, 0.4), _node(3, 1, 1, 0.8)]
    nodes[2]["test_score"] = 0.75
    assert best_so_far(nodes) == [(1, 0.5, 0.5), (2, 0.5, 0.5), (3, 0.8, 0.75)]


def test_large_trees_show_the_newest_nodes_and_the_ancestors() -> None:
    nodes = [_node(1, None, 0, 0.5)] + [_node(i, i - 1, i - 1, 0.5) for i in range(2, 101)]
    nodes[9]["val_score"] = 0.99  # node 10, an ancestor of everything newer anyway
    kept = focus_nodes(nodes, best_id=10, newest=5)
    assert [n["id"] for n in kept] == list(range(1, 101))  # a chain: every node is an ancestor of the newest
    star = [_node(1, None, 0, 0.5)] + [_node(i, 1, 1, 0.5) for i in range(2, 101)]
    assert [n["id"] for n in focus_nodes(star, best_id=7, newest=3)] == [1, 7, 98, 99, 100]


def _grow(store: Store, parent: int | None, val: float) -> int:
    plan = json.dumps({"strategy": "refine_data", "change": f"node with {val}", "rationale": "r"})
    node_id = store.add_node(parent, 0 if parent is None else 1, "refine_data", plan, [])
    tree = store.load_tree()
    node = tree.nodes[node_id]
    node.status, node.val_score, node.test_score, node.reward = (DONE if val else FAILED), val, val, val
    store.finish_node(node, None, "insight", None, backpropagate(tree, node_id, val))
    return node_id


def test_serve_is_live_and_read_only(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.set_meta("task_name", "live")
    root = _grow(store, None, 0.6)
    server = make_server(tmp_path, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        page = urllib.request.urlopen(f"{base}/").read().decode()
        assert 'id="node-1"' in page and 'id="node-2"' not in page and 'fetch("status.json"' in page
        before = json.loads(urllib.request.urlopen(f"{base}/status.json").read())
        _grow(store, root, 0.8)  # the run goes on
        after = json.loads(urllib.request.urlopen(f"{base}/status.json").read())
        assert after["version"] > before["version"] and after["nodes"] == 2 and after["best"]["id"] == 2
        assert 'id="node-2"' in urllib.request.urlopen(f"{base}/report.html").read().decode()
        with pytest.raises(urllib.error.HTTPError, match="405"):
            urllib.request.urlopen(urllib.request.Request(f"{base}/", data=b"x", method="POST"))
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"{base}/../trex.db")
    finally:
        server.shutdown()
        store.close()
    assert "fetch(" not in render_report(Store(tmp_path))  # the file report has no polling script
