"""SQLite store of a run: nodes, jobs, events and metadata under ``<workspace>/trex.db``.

Guarantees: WAL journal with ``synchronous=FULL``, so a committed write survives a SIGKILL or a
power cut; every state change is one transaction (a node's result and the backpropagation along
its path commit together); a job's result is keyed by the job's content hash, so a resumed run
finds what already finished and never runs it again. Plans and results are stored as JSON text
of their pydantic models. Artifacts (adapters, logs) live in files beside the database:
``nodes/<id>/jobs/<hash>/``. All SQL of the workspace's database lives in this package.
"""

from trex.store.db import Store, StoredJob, StoreError

__all__ = ["Store", "StoreError", "StoredJob"]
