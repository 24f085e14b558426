"""Prompt files of the agents (YAML), read with importlib.resources and rendered strictly.

``PromptSet.load(file, fields)`` reads a YAML mapping of prompt name -> template (``$name``
placeholders, ``$$`` for a dollar sign) and checks it against ``fields``, the placeholders each prompt
is declared to take: a prompt that is missing, undeclared, uses a placeholder it does not declare, or
does not use one it declares fails at load with ``PromptError``, before any LLM is called. ``render``
takes exactly the declared values, so a misspelled name cannot reach an LLM silently.
"""

from __future__ import annotations

from importlib import resources
from string import Template
from typing import Any

import yaml


class PromptError(ValueError):
    """A prompt file does not match its declared placeholders, or a render got the wrong values."""


class PromptSet:
    def __init__(self, templates: dict[str, Template], fields: dict[str, frozenset[str]]) -> None:
        self.templates, self.fields = templates, fields

    @classmethod
    def load(cls, file: str, fields: dict[str, set[str] | frozenset[str]]) -> PromptSet:
        text = resources.files(__name__).joinpath(file).read_text(encoding="utf-8")
        return cls.parse(text, fields, file)

    @classmethod
    def parse(cls, text: str, fields: dict[str, set[str] | frozenset[str]], origin: str = "<prompts>") -> PromptSet:
        raw = yaml.safe_load(text)
        if not isinstance(raw, dict) or set(raw) != set(fields):
            names = sorted(raw) if isinstance(raw, dict) else raw
            raise PromptError(f"{origin}: prompts {names} do not match the declared prompts {sorted(fields)}")
        templates = {}
        for name, body in raw.items():
            template = Template(str(body))
            if not template.is_valid():
                raise PromptError(f"{origin}: prompt {name!r} has an invalid placeholder ($ not followed by a name)")
            used, declared = set(template.get_identifiers()), set(fields[name])
            if used != declared:
                raise PromptError(
                    f"{origin}: prompt {name!r}: unknown placeholder(s) {sorted(used - declared)}, "
                    f"missing placeholder(s) {sorted(declared - used)}"
                )
            templates[name] = template
        return cls(templates, {k: frozenset(v) for k, v in fields.items()})

    def render(self, prompt: str, /, **values: Any) -> str:
        expected = self.fields[prompt]
        if set(values) != expected:
            raise PromptError(
                f"prompt {prompt!r}: unexpected value(s) {sorted(set(values) - expected)}, "
                f"missing value(s) {sorted(expected - set(values))}"
            )
        return self.templates[prompt].substitute({k: str(v) for k, v in values.items()})
