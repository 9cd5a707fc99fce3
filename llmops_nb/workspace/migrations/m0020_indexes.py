"""Vector indexes: one row per index (params, lineage, current usearch file), the records it holds
(text and metadata, once per record) and its chunks (usearch key -> record id, chunk number, offsets)."""
from ..db import migration, run_script


@migration("0020_indexes")
def _indexes(conn):
    run_script(conn, """
        CREATE TABLE indexes (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            metric TEXT NOT NULL,
            dtype TEXT NOT NULL,
            connectivity INTEGER NOT NULL,
            expansion_add INTEGER NOT NULL,
            expansion_search INTEGER NOT NULL,
            chunk_tokens INTEGER,
            overlap INTEGER,
            file TEXT NOT NULL,
            n_records INTEGER NOT NULL DEFAULT 0,
            n_chunks INTEGER NOT NULL DEFAULT 0,
            next_key INTEGER NOT NULL DEFAULT 0,
            dataset_id INTEGER,
            dataset_ref TEXT,
            dataset_snapshot TEXT,
            changes INTEGER NOT NULL DEFAULT 0,
            stats TEXT NOT NULL DEFAULT '{}',
            run_id TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE index_records (
            index_id INTEGER NOT NULL REFERENCES indexes(id) ON DELETE CASCADE,
            record_id TEXT NOT NULL,
            text TEXT NOT NULL,
            meta TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (index_id, record_id)
        );
        CREATE TABLE index_chunks (
            index_id INTEGER NOT NULL,
            key INTEGER NOT NULL,
            record_id TEXT NOT NULL,
            chunk INTEGER NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            PRIMARY KEY (index_id, key),
            FOREIGN KEY (index_id, record_id) REFERENCES index_records(index_id, record_id) ON DELETE CASCADE
        );
        CREATE INDEX index_chunks_record ON index_chunks(index_id, record_id)
    """)
