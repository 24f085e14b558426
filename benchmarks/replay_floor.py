"""Replay the MCTS selections of finished runs with the old fixed floor (0.02) and the measured one.

    .venv/bin/python benchmarks/replay_floor.py WORKSPACE [WORKSPACE ...] [--json]

For each finished search (a workspace holding ``trex.db``, searched recursively) and each node after the root, the
tree as it stood before that node was planned (the earlier nodes, their rewards backpropagated in order) is given
to ``MCTS`` twice: with ``DEFAULT_FLOOR`` and with ``measured_floor`` of the then-best node's 95% validation
interval (what the loop passes since 71f8db5). Prints the parent each floor picks beside the parent the run took.
It replays one node at a time (``parallel_nodes`` 1) and MCTS (the default policy); other runs are not replayed
faithfully. The interval is taken as stored: right for a metric in [0, 1] (the loop maps it by the task's
``metric_range`` first).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from trex.agents.history import node_intervals
from trex.search.policies import DEFAULT_FLOOR, MCTS, backpropagate, expandable, measured_floor
from trex.search.tree import Node, Tree
from trex.store import Store


def replay(workspace: Path) -> list[dict]:
    store = Store.open_existing(workspace, read_only=True)
    try:
        full, rows = store.load_tree(), []
        intervals = node_intervals(store, full)
        for new in range(2, len(full) + 1):
            tree = Tree()
            for i in range(1, new):
                n = full.nodes[i]
                tree.add(Node(n.id, n.parent, n.depth, n.strategy, n.status, val_score=n.val_score, reward=n.reward))
                backpropagate(tree, i, n.reward or 0.0)
            best, candidates = tree.best(), expandable(tree, 4)
            floor = measured_floor(best, intervals)
            old = MCTS(floor=DEFAULT_FLOOR).select(tree, candidates, random.Random(0)).node_id
            measured = MCTS(floor=floor).select(tree, candidates, random.Random(0)).node_id
            rows.append({"node": new, "taken": full.nodes[new].parent, "fixed": old, "measured": measured,
                         "floor": round(floor, 4)})  # fmt: skip
    finally:
        store.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspaces", nargs="+", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = {str(db.parent): replay(db.parent) for ws in args.workspaces for db in sorted(ws.rglob("trex.db"))}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for ws, rows in report.items():
        for r in rows:
            same = "same" if r["fixed"] == r["measured"] else "DIFFERENT"
            print(f"{ws} node {r['node']}: took {r['taken']}, fixed floor {r['fixed']}, measured floor "
                  f"{r['measured']} ({r['floor']}): {same}")  # fmt: skip


if __name__ == "__main__":
    main()
