"""Prompt versions: immutable templates, one row per (name, version), identical text deduplicated."""
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
