"""The report shows the LLM researcher's fallbacks (cause, step, node) and prompt cuts, escaped; none, no section."""

from __future__ import annotations

from pathlib import Path

from tests.report.test_html import _store
from trex.report.html import render_report


def test_the_report_lists_fallbacks_and_prompt_cuts(tmp_path: Path) -> None:
    store = _store(tmp_path, reference=None)
    assert "LLM researcher:" not in render_report(store)
    store.event("prompt_cut", 1, cut="memory_half", during="plan", error="context_length_exceeded")
    store.event("researcher_fallback", 1, cause="context_length", during="plan", error="too long <tokens>")
    store.event("researcher_fallback", None, cause="http_5xx", during="repair", error="server error 503")
    page = render_report(store)
    assert "<h2>LLM researcher: 2 fallbacks, 1 prompt cuts</h2>" in page
    assert (
        '<td>prompt cut</td><td>plan</td><td>child of <a href="#node-1">node 1</a></td><td>cut memory_half</td>'
        in page
    )
    assert "<td>heuristic fallback</td><td>plan</td>" in page and "<td>context_length</td>" in page
    assert "too long &lt;tokens&gt;" in page  # escaped
    assert "<td>repair</td><td>root or repair</td><td>http_5xx</td><td>server error 503</td>" in page
    store.close()
