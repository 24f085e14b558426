"""Preparers: a source's rows (as the benchmark publishes them) into trex rows.

A preparer is ``fn(rows, split, args) -> rows`` registered by name in ``PREPARERS``; a task file
names one in ``prepare`` with its ``prepare_args``. Output rows have ``input`` (the text the
prompt template shows), ``label`` (the reference answer, or for training rows the completion)
and, for benchmarks made of sub-tasks, ``group``. A source row without a needed field stops the
preparation with a ``PrepareError`` that names the field, the row and the columns it has.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

Rows = list[dict[str, Any]]
Preparer = Callable[[Rows, str, dict[str, Any]], Rows]
PREPARERS: dict[str, Preparer] = {}


class PrepareError(ValueError):
    """A source row lacks a field the preparer needs, or holds a value it cannot use."""


def preparer(name: str) -> Callable[[Preparer], Preparer]:
    def register(fn: Preparer) -> Preparer:
        PREPARERS[name] = fn
        return fn

    return register


def _get(row: dict[str, Any], field: str, index: int) -> Any:
    if field not in row:
        raise PrepareError(f"row {index}: no field {field!r} (fields: {', '.join(map(str, row))})")
    return row[field]


def _options(row: dict[str, Any], letters: str) -> str:
    return "\n".join(f"{letter}. {row[letter]}" for letter in letters if row.get(letter) not in (None, ""))


@preparer("text_label")
def text_label(rows: Rows, split: str, args: dict[str, Any]) -> Rows:
    """``input`` from one field (the first present of a list), ``label`` from another (mapped through
    ``label_names`` when given)."""
    names = args.get("label_names")
    fields = args["input"] if isinstance(args["input"], list) else [args["input"]]
    out = []
    for i, row in enumerate(rows):
        label = _get(row, args["label"], i)
        if names is not None:
            label = names[int(label)] if isinstance(names, list) else names[str(label)]
        field = next((f for f in fields if f in row), fields[0])  # SST-2's TSVs: 'sentence' or 'content'
        out.append({"input": str(_get(row, field, i)), "label": str(label)})
    return out


@preparer("clinical_note")
def clinical_note(rows: Rows, split: str, args: dict[str, Any]) -> Rows:
    """A dialogue -> its note; a row of a section division ('subjective', ...) asks for that section only."""
    out = []
    for i, row in enumerate(rows):
        text = str(_get(row, args["input"], i))
        division = re.sub(r"^test\d_", "", str(row.get("group", "full")))  # ACI's test1_subjective, ...
        if division != "full":
            text += f"\n\n(Write only the {division.replace('_', ' ')} section of the note.)"
        out.append({"input": text, "label": str(_get(row, args["label"], i)), "group": division})
    return out


def _by_document(rows: Rows) -> Rows:
    """BigBIO's HoC rows are sentences ('PMID_i'): one row per abstract with the union of their labels."""
    documents: dict[str, dict[str, Any]] = {}
    for row in rows:
        doc = documents.setdefault(str(row["document_id"]).rsplit("_", 1)[0], {"text": [], "label": set()})
        doc["text"].append(str(row["text"]))
        doc["label"].update(row["label"] if isinstance(row["label"], list) else [row["label"]])
    return [{"text": " ".join(d["text"]), "label": sorted(d["label"], key=str)} for d in documents.values()]


@preparer("multilabel")
def multilabel(rows: Rows, split: str, args: dict[str, Any]) -> Rows:
    """``label``: the row's labels (indices into ``label_names``, or names) joined by '; ', or 'none'.

    With ``by_document`` sentence rows (``document_id`` 'PMID_i') are first joined into abstracts."""
    names: list[str] = args["label_names"]
    if args.get("by_document") and rows and "document_id" in rows[0]:
        rows = _by_document(rows)
    out = []
    for i, row in enumerate(rows):
        raw = _get(row, args["label"], i)
        raw = raw if isinstance(raw, list) else [raw]
        labels = [names[int(x)] if isinstance(x, int) or str(x).isdigit() else str(x) for x in raw]
        labels = [label for label in labels if label != "none"]
        out.append({"input": str(_get(row, args["input"], i)), "label": "; ".join(labels) or "none"})
    return out


def _as_judgment(answer: Any) -> str | None:
    text = str(answer).strip().lower()
    return {"true": "true", "false": "false", "t": "true", "f": "false", "正确": "true", "错误": "false"}.get(text)


@preparer("choice_question")
def choice_question(rows: Rows, split: str, args: dict[str, Any]) -> Rows:
    """Multiple choice (options in columns A-E) and true/false rows; other formats are left out.

    ``formats`` (with ``format_field``) keeps only those formats; a row whose answer is true/false
    becomes a judgment; rows without options keep their free answer (e.g. entity lists).
    """
    letters = args.get("letters", "ABCDE")
    keep = set(args.get("formats", []))
    out = []
    for i, row in enumerate(rows):
        if keep and str(row.get(args.get("format_field", "Format"))) not in keep:
            continue
        question = str(_get(row, args.get("question", "question"), i)).strip()
        answer = _get(row, args.get("answer", "answer"), i)
        options = _options(row, letters)
        judgment = _as_judgment(answer)
        if options and judgment is None:
            text, label = f"{question}\n{options}", str(answer).strip().upper()[:1]
        elif judgment is not None:
            text, label = f"{question}\nTrue or false?", judgment
        else:
            text, label = question, str(answer).strip()
        item = {"input": text, "label": label}
        if "group" in row:
            item["group"] = row["group"]
        out.append(item)
    return out


@preparer("ordering")
def ordering(rows: Rows, split: str, args: dict[str, Any]) -> Rows:
    """Events A-D to put in order; ``label`` is the order as 'B, A, D, C'."""
    out = []
    for i, row in enumerate(rows):
        question = str(_get(row, args.get("question", "Question"), i)).strip()
        answer = str(_get(row, args.get("answer", "Answer"), i))
        order = re.findall(r"(?<![A-Za-z])([A-D])(?![A-Za-z])", answer)
        if len(order) < 2:
            raise PrepareError(f"row {i}: answer {answer!r} is not an order of the letters A-D")
        out.append({"input": f"{question}\n{_options(row, 'ABCD')}", "label": ", ".join(order)})
    return out


@preparer("grouped_instruction")
def grouped_instruction(rows: Rows, split: str, args: dict[str, Any]) -> Rows:
    """Instruction and question joined as the input; the answer as the label; the sub-task as the group.

    ``strip_prefix`` (group -> text) removes every occurrence of a text that the benchmark's scorer removes from the
    reference; ``drop_from_eval`` (group -> substrings) leaves out of validation/test the rows the
    benchmark's scorer skips (they stay in training).
    """
    strip: dict[str, str] = args.get("strip_prefix", {})
    drop: dict[str, list[str]] = args.get("drop_from_eval", {})
    out = []
    for i, row in enumerate(rows):
        parts = [str(row[f]).strip() for f in args.get("input", ["instruction", "question"]) if row.get(f)]
        if not parts:
            raise PrepareError(f"row {i}: none of {args.get('input')} present (fields: {', '.join(row)})")
        group = str(_get(row, "group", i))
        label = str(_get(row, args.get("answer", "answer"), i)).strip()
        if split != "train" and any(word in label for word in drop.get(group, [])):
            continue
        if group in strip:  # str.replace, as the scorer does it
            label = label.replace(strip[group], "")
        out.append({"input": "\n".join(parts), "label": label, "group": group})
    return out


def _count(row: dict[str, Any], field: str, index: int) -> int:
    value = row.get(field)
    try:
        return int(value) if value not in (None, "") else 0
    except (TypeError, ValueError):
        raise PrepareError(f"row {index}: {field} = {value!r} is not a count") from None


def _tomg_reference(row: dict[str, Any], task: str, index: int) -> dict[str, Any]:
    """What TOMG-Bench's evaluate.py checks for one row (see trex.bench.chem)."""
    from trex.bench.chem import ATOMS, BONDS, CUSTOM_GROUPS

    if task == "MolCustom_AtomNum":  # every atom type, zeros included
        return {"task": task, "counts": {a: _count(row, a, index) for a in ATOMS}}
    if task == "MolCustom_BondNum":  # zeros are not checked
        counts = {b: n for b in BONDS if (n := _count(row, b, index))}
        return {"task": task, "counts": counts}
    if task == "MolCustom_FunctionalGroup":  # every group, zeros included ('benzene rings' in the CSV)
        return {
            "task": task,
            "counts": {g: _count(row, "benzene rings" if g == "benzene_ring" else g, index) for g in CUSTOM_GROUPS},
        }
    ref: dict[str, Any] = {"task": task, "molecule": str(_get(row, "molecule", index))}
    if task.startswith("MolEdit_"):
        for key, field in (("added", "added_group"), ("removed", "removed_group")):
            if row.get(field):
                ref[key] = str(row[field])
        return ref
    if task.startswith("MolOpt_"):
        instruction = str(_get(row, "Instruction", index))
        lower = "lower" in instruction or "decrease" in instruction  # evaluate.py's test, case and all
        return {**ref, "property": task.split("_", 1)[1], "direction": "lower" if lower else "higher"}
    raise PrepareError(f"row {index}: unknown TOMG-Bench subtask {task!r}")


@preparer("tomg")
def tomg(rows: Rows, split: str, args: dict[str, Any]) -> Rows:
    """Training rows (OpenMolIns): instruction -> molecule. Evaluation rows: instruction -> a JSON check."""
    out = []
    for i, row in enumerate(rows):
        instruction = str(_get(row, "Instruction", i)).strip()
        if split == "train":
            out.append({"input": instruction, "label": str(_get(row, "molecule", i)), "group": row.get("SubTask")})
            continue
        task = str(_get(row, "group" if "group" in row else "SubTask", i))
        reference = _tomg_reference(row, task, i)
        out.append({"input": instruction, "label": json.dumps(reference, sort_keys=True), "group": task})
    return out


@preparer("ome")
def ome(rows: Rows, split: str, args: dict[str, Any]) -> Rows:
    """A reaction as the input; the mechanism as a JSON list (with step weights for evaluation rows)."""
    out = []
    for i, row in enumerate(rows):
        reactants = ".".join(_get(row, "reactants_smiles", i))
        products = ".".join(_get(row, "products_smiles", i))
        text = f"Reactants: {reactants}\nProducts: {products}\nConditions: {row.get('conditions') or 'none'}"
        steps = _get(row, "mechanism", i)
        # oMe-Template: 4 steps lack a subtype (their type stands in); 111 of its 167 reactions have no step weights
        # and 56 have a weight of 0 on every step (no answer could earn credit): equal weights summing to 1 stand
        # in for both, as oMe-Gold's weights sum to 1
        weights = [s.get("step_weight") for s in steps]
        weighted = all(w is not None for w in weights) and sum(weights) > 0
        if split == "train":
            label = [
                {"subtype": s.get("subtype", s.get("type")), "intermediate_smiles": s["intermediate_smiles"]}
                for s in steps
            ]
        else:
            label = [
                {
                    "subtype": s.get("subtype", s.get("type")),
                    "smiles": s["intermediate_smiles"],
                    "weight": s["step_weight"] if weighted else 1 / len(steps),
                }
                for s in steps
            ]
        out.append({"input": text, "label": json.dumps(label, ensure_ascii=False)})
    return out


def _render_call(call: dict[str, Any]) -> str:
    function = call.get("function", call)
    return f"{function.get('name')}({json.dumps(function.get('arguments', {}), ensure_ascii=False)})"


@preparer("gta_steps")
def gta_steps(rows: Rows, split: str, args: dict[str, Any]) -> Rows:
    """One row per tool call of a GTA query: the tools, the query and the history so far -> the tool's name."""
    out = []
    for i, row in enumerate(rows):
        tools = ", ".join(t["name"] if isinstance(t, dict) else str(t) for t in _get(row, "tools", i))
        history: list[str] = []
        for message in _get(row, "dialogs", i):
            role = message.get("role")
            if role == "assistant" and message.get("tool_calls"):
                for call in message["tool_calls"]:
                    context = "\n".join(history)
                    name = (call.get("function") or call).get("name")
                    out.append({"input": f"Tools: {tools}\n{context}", "label": str(name)})
                    history.append(f"assistant calls {_render_call(call)}")
            elif role == "tool":
                history.append(f"tool {message.get('name', '')} returns: {str(message.get('content', ''))[:300]}")
            elif role in ("user", "assistant"):
                history.append(f"{role}: {message.get('content', '')}")
    return out
