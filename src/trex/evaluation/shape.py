"""The shape of the rows a model is scored on, and whether a training format gives rows of that shape.

``format_problem`` reads the arguments of an AIDP ``format_for_training`` step (prompt and completion templates,
label map, style) against an ``EvalConfig``: the prompt's text around its placeholders must be the evaluation's (the
placeholders may name other columns), the style is chat exactly when the evaluation uses the chat template, and the
completions are the choice texts (choices mode) or carry the label (generate mode). It checks templates, not data: a
row whose label the label map does not know is not caught here.
"""

from __future__ import annotations

from string import Formatter
from typing import Any

from trex.evaluation.config import EvalConfig


def _shape(template: str) -> str:
    """A template's literal text with each placeholder as ``{}``: two templates of one shape differ only in names."""
    return "".join(text + ("{}" if field is not None else "") for text, field, _, _ in Formatter().parse(template))


def format_problem(args: dict[str, Any], ev: EvalConfig) -> str | None:
    """Why a ``format_for_training`` step's rows cannot have the shape the evaluation scores (None: they can): the
    prompt's text, chat style iff the chat template, completions that are choice texts (or carry the label)."""
    style, want = args.get("style", "completion"), "chat" if ev.chat_template else "completion"
    if style != want:
        how = "wraps the prompt in the model's chat template" if ev.chat_template else "scores the plain prompt"
        return f"style {style!r}, but the evaluation {how}: use style {want!r}"
    prompt = str(args.get("prompt_template", ""))
    if _shape(prompt) != _shape(ev.prompt_template):
        return (
            f"prompt_template {prompt!r} is not the evaluation's prompt {ev.prompt_template!r} (the placeholders may "
            "name other columns; the text around them must be the same)"
        )
    completion, label = str(args.get("completion_template", "")), str(args.get("label_field", "label"))
    fields = [f for _, f, _, _ in Formatter().parse(completion) if f is not None]
    if ev.mode == "generate":
        return None if label in fields else f"completion_template {completion!r} must carry the answer {{{label}}}"
    if any(f != label for f in fields):
        return f"completion_template {completion!r} may hold only {{{label}}}: the completion is a choice text"
    labels = list(args["label_map"].values()) if args.get("label_map") else list(ev.choices or {})
    made = {completion.format(**{label: v}) if fields else completion for v in labels}
    clean = (lambda t: t.strip()) if want == "chat" else (lambda t: t)  # noqa: E731 - chat strips the answer
    wrong = sorted(c for c in made if clean(c) not in {clean(t) for t in (ev.choices or {}).values()})
    return (
        f"its completions {wrong} are not the evaluation's choice texts (label -> text: {ev.choices}); e.g. "
        f"completion_template '{{{label}}}' with label_map equal to the choices"
        if wrong
        else None
    )
