"""The support-tickets dataset: a generated, seeded routing task whose training data has the usual flaws.

Customer messages are routed to ``billing``, ``shipping`` or ``technical``. Each message is an
opener, one label-specific problem phrase and a closer, so a 2-layer model trained from scratch
(``embedded:tiny-qwen2``) can learn it in about a hundred steps on two CPU cores: a task on which
research decisions show within minutes (``benchmarks/researcher_vs_random.py``).

The validation and test splits are clean and label-balanced. The training split carries the
flaws a real export has, each one a lever a careful researcher should pull:
- label imbalance: 75% billing, 18% shipping, 7% technical;
- duplicates: the template space is small, so many rows repeat exactly;
- junk rows: very short messages ("help", "??") with arbitrary labels;
- label noise: 5% of the rows carry a label drawn at random.
The rows are a pure function of ``seed``: the same seed gives the same files on every machine.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

TICKETS_VERSION = 1  # bump when the rows change: the cache folder is keyed by it
LABELS = ("billing", "shipping", "technical")
PROBLEMS = {
    "billing": (
        "I was charged twice for my order",
        "the invoice shows the wrong amount",
        "please refund my payment",
        "my card was billed after I cancelled",
        "the subscription fee went up without notice",
        "I need a copy of my receipt",
        "why is there an extra charge on my statement",
        "the discount code was not applied to the price",
        "I paid but the order still says unpaid",
        "you took money from the wrong account",
    ),
    "shipping": (
        "my parcel has not arrived yet",
        "the tracking number does not work",
        "the package was delivered to the wrong address",
        "the courier left the box in the rain",
        "delivery is two weeks late",
        "can I change the delivery address",
        "the box arrived damaged and crushed",
        "my order left the warehouse days ago and vanished",
        "only half of the items were in the parcel",
        "the driver never rang the bell",
    ),
    "technical": (
        "the app crashes when I log in",
        "I cannot reset my password",
        "the website shows an error page",
        "the download button does nothing",
        "my account is locked after the update",
        "the screen freezes on startup",
        "sync between my phone and laptop fails",
        "the software will not install on my computer",
        "notifications stopped working on my tablet",
        "the page keeps loading forever",
    ),
}
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


def _message(rng: random.Random, label: str) -> dict[str, str]:
    parts = (rng.choice(OPENERS), rng.choice(PROBLEMS[label]), rng.choice(CLOSERS))
    return {"text": " ".join(p for p in parts if p), "label": label}


def _train_row(rng: random.Random) -> dict[str, str]:
    if rng.random() < JUNK_SHARE:
        return {"text": rng.choice(JUNK), "label": rng.choice(LABELS)}
    row = _message(rng, rng.choices(LABELS, [TRAIN_SHARES[label] for label in LABELS])[0])
    if rng.random() < NOISE_SHARE:
        row["label"] = rng.choice(LABELS)
    return row


def ticket_splits(seed: int = 7) -> dict[str, list[dict[str, str]]]:
    """The three splits as rows; validation and test cycle through the labels (balanced)."""
    rng = random.Random(seed)
    splits = {
        name: [_message(rng, LABELS[i % len(LABELS)]) for i in range(SPLIT_ROWS[name])]
        for name in ("validation", "test")
    }
    splits["train"] = [_train_row(rng) for _ in range(SPLIT_ROWS["train"])]
    return splits


def write_tickets(out: Path, seed: int = 7) -> None:
    """Write ``train.jsonl``, ``validation.jsonl`` and ``test.jsonl`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in ticket_splits(seed).items():
        with (out / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in rows)
