"""The runs table and what a run logs: params, metrics with steps, recorded values, tags, artifacts.
Never edit an applied migration: add a new, later-numbered one."""
from __future__ import annotations

from ..db import migration, run_script


@migration("0001_runs")
def _runs(conn):
    run_script(conn,
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'run',
            status TEXT NOT NULL,
            started_at REAL NOT NULL,
            ended_at REAL,
            pid INTEGER,
            host TEXT,
            proc_token TEXT,
            parent_id TEXT,
            error TEXT,
            env TEXT
        );
        CREATE INDEX runs_started ON runs(started_at);
        CREATE INDEX runs_status ON runs(status);
        CREATE TABLE params (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT,
            PRIMARY KEY (run_id, key)
        );
        CREATE TABLE metrics (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value REAL,
            step INTEGER,
            ts REAL NOT NULL
        );
        CREATE INDEX metrics_run ON metrics(run_id, key, step);
        CREATE TABLE records (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            ts REAL NOT NULL
        );
        CREATE INDEX records_run ON records(run_id, name);
        CREATE TABLE tags (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT,
            PRIMARY KEY (run_id, key)
        );
        CREATE TABLE artifacts (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            path TEXT NOT NULL,
            size INTEGER,
            sha256 TEXT,
            created_at REAL NOT NULL,
            PRIMARY KEY (run_id, name)
        );
        """
    )
