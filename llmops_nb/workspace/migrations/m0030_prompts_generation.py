"""Prompt versions, the response cache, the generation log and fine-tuned models registered in the workspace."""
from ..db import migration, run_script


@migration("0030_prompts")
def _prompts(conn):
    run_script(conn, """
        CREATE TABLE prompts (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            template TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            variables TEXT NOT NULL DEFAULT '[]',
            run_id TEXT,
            created_at REAL NOT NULL,
            UNIQUE (name, version),
            UNIQUE (name, sha256)
        );
        CREATE INDEX prompts_name ON prompts(name, version)
    """)


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


@migration("0032_registered_models")
def _registered_models(conn):
    run_script(conn, """
        CREATE TABLE registered_models (
            name TEXT PRIMARY KEY,
            base TEXT NOT NULL,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            sha256 TEXT,
            dataset_ref TEXT,
            dataset_snapshot TEXT,
            run_id TEXT,
            params TEXT NOT NULL DEFAULT '{}',
            metrics TEXT NOT NULL DEFAULT '{}',
            created_at REAL NOT NULL
        )
    """)
