"""The researcher's tools against local servers speaking arXiv's and the Hub's protocols, and a research step."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

import pytest

from tests.http_standin import serving
from trex.agents.llm.tools import ToolCall, Tools

ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"
      xmlns:arxiv="http://arxiv.org/schemas/atom">
  <title>arXiv Query</title>
  <id>http://arxiv.org/api/query</id>
  <updated>2026-01-01T00:00:00Z</updated>
  <opensearch:totalResults>1</opensearch:totalResults>
  <opensearch:startIndex>0</opensearch:startIndex>
  <opensearch:itemsPerPage>1</opensearch:itemsPerPage>
  <entry>
    <id>http://arxiv.org/abs/2601.00001v1</id>
    <updated>2026-01-02T00:00:00Z</updated>
    <published>2026-01-02T00:00:00Z</published>
    <title>Deduplication Makes Fine-Tuning Data Go Further</title>
    <summary>We show that removing near duplicates from instruction data improves accuracy.</summary>
    <author><name>A. Writer</name></author>
    <link href="http://arxiv.org/abs/2601.00001v1" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/2601.00001v1" rel="related" type="application/pdf"/>
    <arxiv:primary_category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
</feed>"""


@contextmanager
def fixture_server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.path)
            url = urlparse(self.path)
            if url.path == "/api/query":
                body, kind = ATOM.encode(), "application/atom+xml"
            elif url.path == "/api/datasets":
                query = parse_qs(url.query).get("search", [""])[0]
                rows = [
                    {
                        "id": f"someone/{query}-reviews",
                        "downloads": 1234,
                        "likes": 5,
                        "tags": ["task:text-classification"],
                    }
                ]
                body, kind = json.dumps(rows).encode(), "application/json"
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url, seen


def test_arxiv_and_hub_search(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with fixture_server() as (url, seen):
        tools = Tools(arxiv_url=f"{url}/api/query", hub_endpoint=url)
        papers = tools.run(ToolCall(tool="search_arxiv", query="deduplication fine-tuning"))
        assert "Deduplication Makes Fine-Tuning Data Go Further (2026-01)" in papers and "near duplicates" in papers
        datasets = tools.run(ToolCall(tool="search_hub_datasets", query="movie"))
        assert "someone/movie-reviews (downloads 1234, likes 5)" in datasets
    assert any("search_query=" in p or "search_query" in p for p in seen)


def test_tools_fail_soft() -> None:
    tools = Tools(arxiv_url="http://127.0.0.1:9/api/query", history=lambda: "node 1: base 0.5")
    assert "search_arxiv is unavailable" in tools.run(ToolCall(tool="search_arxiv", query="x"))
    assert tools.run(ToolCall(tool="history")) == "node 1: base 0.5"


def test_the_llm_researcher_looks_things_up_before_choosing(tiny_task, tmp_path) -> None:
    from tests.agents.heuristic.test_researcher import _record
    from trex.agents.llm.researcher import LLMResearcher
    from trex.llm.client import ScriptedClient
    from trex.plan import PlanContext
    from trex.store import Store

    plan = _record(tiny_task, 1, 0.7).plan.model_dump(exclude={"strategy": True, "configs": {"__all__": {"source"}}})
    plan.update(change="dedup harder")
    replies = [
        '{"tool": "search_arxiv", "query": "near duplicate removal"}',
        '{"done": true}',
        '{"strategy": "refine_data", "rationale": "the paper says dedup helps"}',
        json.dumps(plan),
    ]
    client = ScriptedClient(replies)
    store = Store(tmp_path)
    with fixture_server() as (url, _):
        researcher = LLMResearcher(tiny_task, client, store, tools=Tools(arxiv_url=f"{url}/api/query"))
        result = researcher.plan(PlanContext(parent=_record(tiny_task, 1, 0.7), seed=1, memory="Path: node 1"))
    assert result.change == "dedup harder"
    assert "Deduplication Makes Fine-Tuning Data Go Further" in client.sent[1][-1]["content"]  # shown to the LLM
    assert "Looked up before this choice" in client.sent[2][-1]["content"]  # and kept for the strategy step
    assert "Deduplication Makes Fine-Tuning Data Go Further" in client.sent[3][-1]["content"]  # and the plan
    (event,) = store.events("tool_call")
    assert event["data"]["tool"] == "search_arxiv" and "Deduplication" in event["data"]["answer"]
    store.close()
