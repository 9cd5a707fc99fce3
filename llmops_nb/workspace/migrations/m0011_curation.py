"""Curation and review: every change a curation, review or revert made, with the record it removed,
so nothing is lost and any removal can be reverted; review decisions saved as they are made."""
from ..db import migration, run_script


@migration("0011_curation")
def _curation(conn):
    run_script(conn, """
        CREATE TABLE curations (
            id INTEGER PRIMARY KEY,
            op TEXT NOT NULL,                               -- curate / review / revert
            input_id INTEGER NOT NULL REFERENCES datasets(id),
            output_id INTEGER REFERENCES datasets(id),      -- the snapshot produced (NULL while running)
            steps TEXT NOT NULL DEFAULT '[]',
            report TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL,                           -- running / done
            created_at REAL NOT NULL,
            seconds REAL
        );
        CREATE INDEX curations_output ON curations(output_id);
        CREATE TABLE curation_changes (
            id INTEGER PRIMARY KEY,
            curation_id INTEGER NOT NULL REFERENCES curations(id) ON DELETE CASCADE,
            record_id TEXT NOT NULL,
            step TEXT NOT NULL,
            action TEXT NOT NULL,                           -- removed / edited / flagged
            reason TEXT NOT NULL,
            duplicate_of TEXT,                              -- the kept record it duplicates
            detail TEXT NOT NULL DEFAULT '{}',
            record TEXT                                     -- the record before the change (JSON)
        );
        CREATE INDEX curation_changes_record ON curation_changes(curation_id, record_id);
        CREATE INDEX curation_changes_reason ON curation_changes(curation_id, action, reason);
        CREATE TABLE review_decisions (
            dataset_id INTEGER NOT NULL REFERENCES datasets(id),
            record_id TEXT NOT NULL,
            decision TEXT NOT NULL,                         -- accept / reject / edit
            text TEXT,                                      -- the edited text
            note TEXT,
            updated_at REAL NOT NULL,
            PRIMARY KEY (dataset_id, record_id)
        )
    """)
