"""Time of the data check (trex.task.datacheck) on the demo's data and on a generated 1M-row CSV.

Run: .venv/bin/python benchmarks/datacheck_time.py   (writes the generated CSVs once, ~110 MB, in the temp folder)
"""

from __future__ import annotations

import csv
import random
import tempfile
from pathlib import Path

from trex.task.datacheck import check_task_data
from trex.task.spec import load_task

DEMO = "examples/tasks/rotten_tomatoes.yaml"


def write_million(folder: Path) -> None:
    rng = random.Random(0)
    words = ["good", "bad", "film", "plot", "actor", "scene", "story", "great", "dull", "fun", "long", "short"]
    folder.mkdir(exist_ok=True)
    with open(folder / "train.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", "text"])
        for i in range(1_000_000):
            writer.writerow([rng.choice(["fresh", "rotten"]), " ".join(rng.choices(words, k=18)) + f" {i}"])
    for name in ("val.csv", "test.csv"):
        with open(folder / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["label", "text"])
            writer.writerows([rng.choice(["fresh", "rotten"]), f"{name} held-out row {i}"] for i in range(300))


def main() -> None:
    demo = load_task(DEMO)
    check_task_data(demo)  # the first call builds the embedded data once
    summary = check_task_data(demo)
    print(f"demo: {summary.rows} in {summary.seconds:.2f} s")
    folder = Path(tempfile.gettempdir()) / "trex-datacheck-1m"
    if not (folder / "train.csv").exists():
        write_million(folder)
    evaluation = demo.eval.model_copy(update={"validation": str(folder / "val.csv"), "test": str(folder / "test.csv")})
    big = demo.model_copy(update={"train_data": str(folder / "train.csv"), "eval": evaluation})
    summary = check_task_data(big)
    print(f"1M rows: {summary.rows} in {summary.seconds:.2f} s")


if __name__ == "__main__":
    main()
