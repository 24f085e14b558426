"""The support-tickets dataset: a generated, seeded routing task whose training data has the usual flaws.

Customer messages are routed to ``billing``, ``shipping`` or ``technical``. Each message is an
opener, a label-specific subject and problem, a detail and a closer (tens of thousands of distinct
messages, so few share a word 8-gram with the evaluation splits), so a 2-layer model trained from scratch
(``embedded:tiny-qwen2``) can learn it in about a hundred steps on two CPU cores: a task on which
research decisions show within minutes (``benchmarks/researcher_vs_random.py``).

The validation and test splits are clean and label-balanced. The training split carries the
flaws a real export has, each one a lever a careful researcher should pull:
- label imbalance: 75% billing, 18% shipping, 7% technical;
- duplicates: 15% of the rows are earlier rows submitted again;
- junk rows: very short messages ("help", "??") with arbitrary labels;
- label noise: 5% of the rows carry a label drawn at random.
The rows are a pure function of ``seed``: the same seed gives the same files on every machine.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

TICKETS_VERSION = 2  # bump when the rows change: the cache folder is keyed by it
LABELS = ("billing", "shipping", "technical")
# a message: opener, subject, problem, detail, closer; subjects and problems are label-specific
SUBJECTS = {
    "billing": (
        "my card",
        "the invoice",
        "my last bill",
        "the refund",
        "my payment",
        "the subscription fee",
        "the receipt",
        "the monthly charge",
        "my bank account",
        "the discount",
    ),
    "shipping": (
        "my parcel",
        "the package",
        "the delivery",
        "my order",
        "the courier",
        "the box",
        "the shipment",
        "the tracking number",
        "the driver",
        "the return label",
    ),
    "technical": (
        "the app",
        "the website",
        "my password reset",
        "the login page",
        "the installer",
        "the sync",
        "the download button",
        "my account",
        "the update",
        "the mobile app",
    ),
}
PROBLEMS = {
    "billing": (
        "was charged twice",
        "shows the wrong amount",
        "has not come through",
        "went up without notice",
        "was never credited",
        "was taken again",
        "looks incorrect",
        "still says unpaid",
    ),
    "shipping": (
        "has not arrived",
        "went to the wrong address",
        "arrived damaged",
        "is two weeks late",
        "was left in the rain",
        "is stuck in transit",
        "never showed up",
        "came half empty",
    ),
    "technical": (
        "crashes on start",
        "shows an error",
        "does nothing",
        "freezes",
        "will not load",
        "keeps timing out",
        "is broken",
        "fails every time",
    ),
}
DETAILS = ("", "this month", "again", "since Monday", "for order 4411", "after I cancelled", "today")
OPENERS = (
    "Hello,",
    "Hi team,",
    "Good morning.",
    "Dear support,",
    "Hey,",
    "Hi there,",
    "",
    "Urgent:",
    "Quick question:",
)
CLOSERS = (
    "Thanks.",
    "Please help.",
    "Regards, Sam",
    "This is frustrating.",
    "",
    "Any update?",
    "Thank you.",
    "Cheers",
)
JUNK = ("help", "??", "hi", "test", "asap!!", "pls", "...", "hello?")
TRAIN_SHARES = {"billing": 0.75, "shipping": 0.18, "technical": 0.07}
SPLIT_ROWS = {"train": 1500, "validation": 150, "test": 150}
JUNK_SHARE = 0.04
NOISE_SHARE = 0.05
REPEAT_SHARE = 0.15  # rows submitted again verbatim


def _message(rng: random.Random, label: str) -> dict[str, str]:
    parts = (
        rng.choice(OPENERS),
        rng.choice(SUBJECTS[label]),
        rng.choice(PROBLEMS[label]),
        rng.choice(DETAILS),
        rng.choice(CLOSERS),
    )
    return {"text": " ".join(p for p in parts if p), "label": label}


def _train_rows(rng: random.Random, n: int) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    while len(rows) < n:
        if rows and rng.random() < REPEAT_SHARE:
            rows.append(dict(rng.choice(rows)))
            continue
        if rng.random() < JUNK_SHARE:
            rows.append({"text": rng.choice(JUNK), "label": rng.choice(LABELS)})
            continue
        row = _message(rng, rng.choices(LABELS, [TRAIN_SHARES[label] for label in LABELS])[0])
        if rng.random() < NOISE_SHARE:
            row["label"] = rng.choice(LABELS)
        rows.append(row)
    return rows


def ticket_splits(seed: int = 7) -> dict[str, list[dict[str, str]]]:
    """The three splits as rows; validation and test cycle through the labels (balanced)."""
    rng = random.Random(seed)
    splits = {
        name: [_message(rng, LABELS[i % len(LABELS)]) for i in range(SPLIT_ROWS[name])]
        for name in ("validation", "test")
    }
    splits["train"] = _train_rows(rng, SPLIT_ROWS["train"])
    return splits


def write_tickets(out: Path, seed: int = 7) -> None:
    """Write ``train.jsonl``, ``validation.jsonl`` and ``test.jsonl`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in ticket_splits(seed).items():
        with (out / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in rows)
