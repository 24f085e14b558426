"""Tools the LLM researcher may call before it chooses a strategy: literature, the Hub, the history, the operators.

- ``search_arxiv``: arXiv's API through the ``arxiv`` package (title, date, link, the abstract's start).
- ``search_hub_datasets`` / ``search_hub_models``: the Hugging Face Hub through ``huggingface_hub``
  (id, downloads, likes, a few tags), most downloaded first.
- ``history``: the memory context of the search tree; ``operators``: the AIDP catalog.
Every result is text cut to ``max_chars``. A tool that cannot answer (offline, an HTTP error)
answers with one line saying so instead of failing the step: the researcher goes on without it.
Endpoints can be moved (``arxiv_url``, ``hub_endpoint``) for mirrors, and for tests with local servers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, Field

from trex.assets.net import offline

ToolName = Literal["search_arxiv", "search_hub_datasets", "search_hub_models", "history", "operators"]
TOOL_HELP = (
    "search_arxiv (query: words; papers on a method or a task), "
    "search_hub_datasets (query: words; datasets that could add training data), "
    "search_hub_models (query: words; models trained for a similar task), "
    "history (the experiments so far), operators (the AIDP data operators)"
)


class ToolCall(BaseModel):
    tool: ToolName | None = Field(default=None, description="the tool to call, or null when done")
    query: str = Field(default="", max_length=200)  # bounded: a grammar-constrained small model always ends it
    done: bool = False


class Tools:
    def __init__(
        self,
        history: Callable[[], str] = lambda: "",
        operators: Callable[[], str] = lambda: "",
        arxiv_url: str | None = None,
        hub_endpoint: str | None = None,
        max_results: int = 5,
        max_chars: int = 3000,
    ) -> None:
        self.history, self.operators = history, operators
        self.arxiv_url, self.hub_endpoint = arxiv_url, hub_endpoint
        self.max_results, self.max_chars = max_results, max_chars

    def run(self, call: ToolCall) -> str:
        try:
            match call.tool:
                case "search_arxiv":
                    text = self._arxiv(call.query)
                case "search_hub_datasets":
                    text = self._hub("datasets", call.query)
                case "search_hub_models":
                    text = self._hub("models", call.query)
                case "history":
                    text = self.history() or "no experiment yet"
                case "operators":
                    text = self.operators()
                case _:
                    text = f"unknown tool {call.tool!r}; tools: {TOOL_HELP}"
        except Exception as exc:  # a tool failure is an answer, never a failed step
            text = f"{call.tool} is unavailable: {type(exc).__name__}: {str(exc)[:200]}"
        return text[: self.max_chars]

    def _arxiv(self, query: str) -> str:
        if offline() and self.arxiv_url is None:
            return "search_arxiv is unavailable: offline"
        try:
            import arxiv
        except ImportError:
            return "search_arxiv is unavailable: the arxiv package is missing (pip install 'trex[research]')"

        client = arxiv.Client(page_size=self.max_results, delay_seconds=0, num_retries=1)
        if self.arxiv_url:
            client.query_url_format = self.arxiv_url.rstrip("?") + "?{}"
        search = arxiv.Search(query=query, max_results=self.max_results, sort_by=arxiv.SortCriterion.Relevance)
        lines = []
        for paper in client.results(search):
            summary = " ".join(paper.summary.split())[:300]
            lines.append(f"- {paper.title} ({paper.published:%Y-%m}) {paper.entry_id}\n  {summary}")
        return "\n".join(lines) or f"no paper found for {query!r}"

    def _hub(self, kind: str, query: str) -> str:
        if offline() and self.hub_endpoint is None:
            return f"search_hub_{kind} is unavailable: offline"
        from huggingface_hub import HfApi

        api = HfApi(endpoint=self.hub_endpoint)
        finder = api.list_datasets if kind == "datasets" else api.list_models
        lines = []
        for item in finder(search=query, limit=self.max_results, sort="downloads"):
            tags = ", ".join((item.tags or [])[:6])
            lines.append(f"- {item.id} (downloads {item.downloads}, likes {item.likes}) {tags}")
        return "\n".join(lines) or f"no {kind} found for {query!r}"
