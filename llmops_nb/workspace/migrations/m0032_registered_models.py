"""Fine-tuned models registered in the workspace."""
from ..db import migration, run_script


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
