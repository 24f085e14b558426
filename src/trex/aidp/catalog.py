"""The operator catalog: one description of every AIDP operator, for people and for the researcher.

``operator_entries`` is what ``trex aidp ops --json`` prints (name, category, doc, JSON schema of
the parameters); ``catalog_text`` is the same information as the text the LLM researcher is given.
"""

from __future__ import annotations

import json
from typing import Any

from trex.aidp.operators import OPERATORS


def operator_entries() -> list[dict[str, Any]]:
    return [
        {"name": op.name, "category": op.category, "doc": op.doc, "schema": op.params.model_json_schema()}
        for op in sorted(OPERATORS.values(), key=lambda o: (o.category, o.name))
    ]


def catalog_text() -> str:
    lines = []
    for entry in operator_entries():
        params = json.dumps(entry["schema"].get("properties", {}), ensure_ascii=False)
        lines.append(f"- {entry['name']} ({entry['category']}): {entry['doc']} params: {params}")
    return "\n".join(lines)
