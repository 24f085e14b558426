"""Steering: a person pins, prunes, annotates a running or stopped search, and the loop obeys at its next selection.

Actions (``trex steer DIR ...`` or the page of ``trex serve``), each a ``steer`` event (``trex.store.steering``):
- ``pin NODE``: the node is expanded next. While a pin is pending (no child of the node created after it) and the
  node can be expanded, it is the only candidate of the next selection; a pin on a node that cannot be expanded
  (running, failed, full) waits until it can.
- ``prune NODE``: the node and its subtree are never selected again (jobs already running finish).
- ``note NODE "text"`` and ``hypothesis "text"``: every later plan's memory starts with them, marked as the user's.
The effects are read from the store at each selection, never from a flag set when applied, so a SIGKILL between an
action and its effect loses neither: the next ``trex resume`` applies what is pending.

Not guaranteed: a heuristic or random researcher reads no memory (notes reach the LLM researcher's prompt); a pin
does not decide what the child's plan is; pruning cannot stop jobs already in flight.
"""

from __future__ import annotations

import datetime as dt

from trex.search.tree import Node, Tree
from trex.store import Store
from trex.store.steering import actions, record_action

ACTIONS = ("pin", "prune", "note", "hypothesis")


class SteerError(ValueError):
    """An action that cannot be taken: an unknown node, an empty text."""


def steer(store: Store, action: str, node_id: int | None, text: str = "") -> int:
    """Check and write one action (one transaction, no workspace lock); its event id."""
    if action not in ACTIONS:
        raise SteerError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    if action == "hypothesis":
        node_id = None
    elif node_id is None or node_id not in store.load_tree().nodes:
        raise SteerError(f"{action}: no node {node_id} in this run")
    if action in ("note", "hypothesis") and not text.strip():
        raise SteerError(f"{action}: the text is empty")
    return record_action(store, action, node_id, text.strip())


def pruned(tree: Tree, store: Store) -> set[int]:
    """Every node in a pruned subtree."""
    roots = {a["node"] for a in actions(store) if a["action"] == "prune"}
    out = set()
    for node in tree.nodes.values():
        current: int | None = node.id
        while current is not None and current in tree.nodes:
            if current in roots:
                out.add(node.id)
                break
            current = tree.nodes[current].parent
    return out


def pending_pins(tree: Tree, store: Store) -> list[int]:
    """Pinned nodes, oldest action first, that have no child created since their pin."""
    pins = []
    for a in actions(store):
        if a["action"] == "pin" and not any(c.id > a["after_node"] for c in tree.children(a["node"])):
            pins.append(a["node"])
    return list(dict.fromkeys(pins))


def steered(store: Store, tree: Tree, candidates: list[Node]) -> list[Node]:
    """The candidates of the next selection as the user steered them: pruned subtrees out; a pending pin on a
    candidate leaves that one alone."""
    if not store.events("steer"):
        return candidates
    out = pruned(tree, store)
    kept = [c for c in candidates if c.id not in out]
    for pin in pending_pins(tree, store):
        chosen = [c for c in kept if c.id == pin]
        if chosen:
            return chosen
    return kept


def user_memory(store: Store) -> str:
    """The notes and hypotheses of the user, as the memory's first lines ("" when there are none)."""
    lines = []
    for a in actions(store):
        when = dt.datetime.fromtimestamp(a["ts"], dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        if a["action"] == "note":
            lines.append(f"- note on node {a['node']} ({when}): {a['text']}")
        elif a["action"] == "hypothesis":
            lines.append(f"- hypothesis ({when}): {a['text']}")
    if not lines:
        return ""
    return (
        "From the user (a person steering this run; their words, not trex's findings):\n" + "\n".join(lines) + "\n\n"
    )
