-- The store's tables (trex.store): a run's nodes, their jobs, events and metadata.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
    id INTEGER PRIMARY KEY,
    parent INTEGER REFERENCES nodes(id),
    depth INTEGER NOT NULL,
    strategy TEXT NOT NULL,
    status TEXT NOT NULL,
    plan TEXT NOT NULL,
    visits INTEGER NOT NULL DEFAULT 0,
    value REAL NOT NULL DEFAULT 0,
    reward REAL,
    val_score REAL,
    test_score REAL,
    best_job TEXT,
    summary TEXT NOT NULL DEFAULT '',
    insights TEXT,
    error TEXT,
    created REAL NOT NULL,
    finished REAL
);
CREATE TABLE IF NOT EXISTS jobs (
    hash TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT,
    workdir TEXT,
    finished REAL
);
CREATE TABLE IF NOT EXISTS node_jobs (
    node_id INTEGER NOT NULL REFERENCES nodes(id),
    idx INTEGER NOT NULL,
    hash TEXT NOT NULL REFERENCES jobs(hash),
    name TEXT NOT NULL,
    PRIMARY KEY (node_id, idx)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    node_id INTEGER,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS nodes_parent ON nodes(parent);
CREATE INDEX IF NOT EXISTS events_node ON events(node_id);
