"""FT-Bench: the ten fine-tuning tasks of the paper (arXiv 2604.14116), their preparers, metrics and runner.

``spec``/``tasks/`` define each task; ``prepare`` builds its splits from the Hub or a local copy of the
source (``local``); ``metrics``, ``lawbench`` and ``chem`` score it as its source scores it; ``run``
searches each task with trex; ``gain`` is the normalized gain formula; ``table`` writes bench.md.
"""
