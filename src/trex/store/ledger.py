"""The LLM part of the cost ledger: which node each LLM token was spent for, written in the caller's transaction.

The researcher keeps its running totals in meta ``llm_usage``. ``attribute_llm`` charges what was spent since the
last charge (meta ``llm_attributed``) to one node, as an ``llm_cost`` event, in the same transaction as the step
that spent it: a node's creation (its plan), jobs added to it (a repair), its end (the verdict). So a SIGKILL
loses no charge and none is counted twice. A workspace of an older release that resumes charges nothing for what
was spent before (its spending was never split by node); its later nodes are charged as usual.
"""

from __future__ import annotations

import json
import sqlite3
import time

USAGE_KEYS = ("prompt_tokens", "completion_tokens", "usd")


def _meta(tx: sqlite3.Connection, key: str) -> dict | None:
    row = tx.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else None


def attribute_llm(tx: sqlite3.Connection, node_id: int) -> None:
    """Charge the LLM usage since the last charge to ``node_id`` (an ``llm_cost`` event when there is any)."""
    usage = _meta(tx, "llm_usage") or {}
    charged = _meta(tx, "llm_attributed")
    if charged is None:  # first charge: a new run starts from zero, an older workspace from what it had spent
        older = tx.execute("SELECT COUNT(*) FROM nodes WHERE id != ?", (node_id,)).fetchone()[0]
        charged = usage if older else {}
    delta = {k: (usage.get(k) or 0) - (charged.get(k) or 0) for k in USAGE_KEYS}
    if any(delta.values()):
        data = json.dumps({**delta, "usd": round(delta["usd"], 10)})
        tx.execute(
            "INSERT INTO events(ts, kind, node_id, data) VALUES (?, ?, ?, ?)", (time.time(), "llm_cost", node_id, data)
        )
    tx.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('llm_attributed', ?)", (json.dumps(usage),))
