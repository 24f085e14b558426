"""The cuts a context overflow makes, in order: memory (half, then all), bad cases, sibling detail."""

from __future__ import annotations

import pytest

from trex.agents.llm.shrink import CUT_NOTE, PromptParts, ask_shrinking
from trex.llm.client import LLMError


def test_cuts_come_in_order_and_then_the_error_goes_up() -> None:
    parts, seen = PromptParts("a\nb\nc\nd"), []

    def ask(p: PromptParts) -> str:
        seen.append((p.memory, p.bad_cases, p.siblings))
        raise LLMError("too long", "context_length")

    cuts: list[str] = []
    with pytest.raises(LLMError):
        ask_shrinking(ask, parts, lambda cut, exc: cuts.append(cut))
    assert cuts == ["memory_half", "memory", "bad_cases", "siblings"]
    assert seen[1] == (f"a\nb\n{CUT_NOTE}", True, True) and seen[-1] == (CUT_NOTE, False, False)


def test_other_errors_are_not_cut_and_a_fitting_prompt_is_answered() -> None:
    parts = PromptParts("m")
    with pytest.raises(LLMError, match="401"):
        ask_shrinking(lambda p: (_ for _ in ()).throw(LLMError("401", "auth")), parts, lambda *a: None)
    assert parts.cuts == []
    answers = iter([LLMError("long", "context_length")])

    def ask(p: PromptParts) -> str:
        error = next(answers, None)
        if error:
            raise error
        return p.memory

    assert ask_shrinking(ask, parts, lambda *a: None) == CUT_NOTE
