"""The cuts the LLM researcher makes when a prompt does not fit the model's context, in order.

A context-length 400 (``LLMError.kind == "context_length"``) is answered by cutting the prompt and asking
again: the memory first (its second half, then all of it; ``memory_context`` puts the most important lines
first), then the parent's bad cases, then the siblings' detail. ``ask_shrinking`` makes one cut per overflow
and reports each through ``on_cut`` (the researcher records it in the node's events); when nothing is left
to cut, or the error is of another kind, the error goes to the caller (which falls back to the heuristic).
Guarantee: the parts that stay are never changed, only left out, and each cut says so in the prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from trex.llm.client import LLMError

T = TypeVar("T")
CUTS = ("memory_half", "memory", "bad_cases", "siblings")
CUT_NOTE = "[cut: the prompt did not fit the model's context]"


@dataclass
class PromptParts:
    """What a plan or strategy prompt may lose, and the cuts made so far."""

    memory: str
    bad_cases: bool = True
    siblings: bool = True
    cuts: list[str] = field(default_factory=list)

    def cut(self) -> str | None:
        """Make the next cut; its name, or None when nothing is left to cut."""
        for name in CUTS:
            if name not in self.cuts and self._applies(name):
                self._apply(name)
                self.cuts.append(name)
                return name
        return None

    def _applies(self, name: str) -> bool:
        if name.startswith("memory"):
            return bool(self.memory) and self.memory != CUT_NOTE
        return bool(getattr(self, name))

    def _apply(self, name: str) -> None:
        if name == "memory_half":
            lines = self.memory.splitlines()
            self.memory = "\n".join([*lines[: len(lines) // 2], CUT_NOTE]) if len(lines) > 1 else CUT_NOTE
        elif name == "memory":
            self.memory = CUT_NOTE
        else:
            setattr(self, name, False)


def ask_shrinking(ask: Callable[[PromptParts], T], parts: PromptParts, on_cut: Callable[[str, LLMError], None]) -> T:
    """``ask(parts)``, cutting ``parts`` after each context-length error until it fits or nothing is left."""
    while True:
        try:
            return ask(parts)
        except LLMError as exc:
            if exc.kind != "context_length":
                raise
            cut = parts.cut()
            if cut is None:
                raise
            on_cut(cut, exc)
