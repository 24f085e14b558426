"""A person's steering actions as the store keeps them: one ``steer`` event each, written in one transaction.

``trex steer`` and ``trex serve``'s page write an action while a run holds the workspace lock: SQLite's own write
lock (WAL, a busy timeout) orders the writes, the workspace lock is not taken. The event records the newest node
id at that moment (``after_node``), so whether a pin has taken effect is read from the tree itself (a child of the
pinned node created after it): nothing is marked "applied" that a SIGKILL could lose.
"""

from __future__ import annotations

import json
import time
from typing import Any

from trex.store.db import Store

STEER = "steer"


def record_action(store: Store, action: str, node_id: int | None, text: str) -> int:
    """Write one action; its event id."""
    with store.transaction() as tx:
        newest = tx.execute("SELECT COALESCE(MAX(id), 0) FROM nodes").fetchone()[0]
        data = {"action": action, "node": node_id, "text": text, "after_node": int(newest)}
        cur = tx.execute(
            "INSERT INTO events(ts, kind, node_id, data) VALUES (?, ?, ?, ?)",
            (time.time(), STEER, node_id, json.dumps(data)),
        )
        return int(cur.lastrowid)


def actions(store: Store) -> list[dict[str, Any]]:
    """Every action in the order written: ``{"id", "ts", "action", "node", "text", "after_node"}``."""
    return [{"id": e["id"], "ts": e["ts"], **e["data"]} for e in store.events(STEER)]
