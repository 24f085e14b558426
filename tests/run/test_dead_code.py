"""Dead code stays out: methods nothing in trex calls (issue 40) are not brought back."""

from __future__ import annotations

from trex.run.executor import Executor
from trex.search.tree import Tree


def test_removed_methods_stay_removed() -> None:
    assert not hasattr(Executor, "run_node")  # the loop starts nodes with start_node and polls
    assert not hasattr(Tree, "unfinished")  # the loop lists the RUNNING nodes itself
