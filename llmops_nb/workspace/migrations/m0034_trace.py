"""Traced calls share the generation log: `source` says who logged a row ('generate' for the kit's own generations,
'trace' for a call the user traced), `error` holds 'Type: message' of a call that raised, `context` the retrieved
ids with scores (JSON [[id, score], ...]), `tags` a JSON object, `text_mode` the privacy setting the row was written
under (full/redacted/none) and `as_repr` which of prompt/output were not strings and are stored as their repr."""
from ..db import migration, run_script


@migration("0034_trace")
def _trace(conn):
    run_script(conn, """
        ALTER TABLE generations ADD COLUMN source TEXT NOT NULL DEFAULT 'generate';
        ALTER TABLE generations ADD COLUMN error TEXT;
        ALTER TABLE generations ADD COLUMN context TEXT;
        ALTER TABLE generations ADD COLUMN tags TEXT;
        ALTER TABLE generations ADD COLUMN text_mode TEXT NOT NULL DEFAULT 'full';
        ALTER TABLE generations ADD COLUMN as_repr TEXT
    """)
