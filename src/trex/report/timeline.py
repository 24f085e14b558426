"""The report's steering timeline: every action a person took (``trex steer``, the live page), with its time, the
node and the text, and whether a pin has taken effect yet (a child of the pinned node created after it)."""

from __future__ import annotations

import datetime as dt
import html

from trex.store import Store
from trex.store.steering import actions


def steering_section(store: Store) -> str:
    """The section ("" when nobody steered this run)."""
    taken = actions(store)
    if not taken:
        return ""
    tree = store.load_tree()
    rows = []
    for a in taken:
        when = dt.datetime.fromtimestamp(a["ts"], dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        state = ""
        if a["action"] == "pin" and a["node"] in tree.nodes:
            done = [c.id for c in tree.children(a["node"]) if c.id > a["after_node"]]
            state = f"expanded: node {done[0]}" if done else "pending"
        node = "–" if a["node"] is None else str(a["node"])
        cells = [when, html.escape(a["action"]), node, html.escape(a["text"]), state]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("time", "action", "node", "text (the user's)", "effect"))
    return f"<h2>Steering timeline</h2><table class='steering'><tr>{head}</tr>{''.join(rows)}</table>"
