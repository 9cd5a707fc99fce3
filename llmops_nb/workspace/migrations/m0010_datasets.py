"""Dataset snapshots: one row per immutable version, with lineage (parent) and the operation that made it."""
from ..db import migration, run_script


@migration("0010_datasets")
def _datasets(conn):
    run_script(conn, """
        CREATE TABLE datasets (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            snapshot TEXT NOT NULL,
            path TEXT NOT NULL,
            n_records INTEGER NOT NULL,
            n_bytes INTEGER NOT NULL DEFAULT 0,
            text_field TEXT NOT NULL DEFAULT 'text',
            columns TEXT NOT NULL DEFAULT '[]',
            parent_id INTEGER REFERENCES datasets(id),
            op TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '{}',
            source TEXT,
            run_id TEXT,
            created_at REAL NOT NULL,
            UNIQUE (name, version)
        );
        CREATE INDEX datasets_name ON datasets(name, version)
    """)
