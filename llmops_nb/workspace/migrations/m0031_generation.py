"""The response cache and the generation log."""
from ..db import migration, run_script


@migration("0031_generation")
def _generation(conn):
    # The cache holds one output per (model identity, rendered prompt, generation params) key.
    # The log keeps every generation served (cached or not), for tracing and monitoring.
    run_script(conn, """
        CREATE TABLE generation_cache (
            key TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            model_id TEXT NOT NULL,
            prompt TEXT NOT NULL,
            output TEXT NOT NULL,
            tokens_in INTEGER NOT NULL,
            tokens_out INTEGER NOT NULL,
            latency_s REAL NOT NULL,
            finish TEXT NOT NULL DEFAULT 'stop',
            params TEXT NOT NULL DEFAULT '{}',
            created_at REAL NOT NULL
        );
        CREATE TABLE generations (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            run_id TEXT,
            model TEXT NOT NULL,
            model_id TEXT NOT NULL,
            prompt TEXT NOT NULL,
            output TEXT NOT NULL,
            tokens_in INTEGER NOT NULL,
            tokens_out INTEGER NOT NULL,
            latency_s REAL NOT NULL,
            cached INTEGER NOT NULL DEFAULT 0,
            cache_key TEXT,
            params TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX generations_model_ts ON generations(model, ts);
        CREATE INDEX generations_run ON generations(run_id);
        CREATE INDEX generations_ts ON generations(ts)
    """)
