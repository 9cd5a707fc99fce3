"""Which version a dataset's bare name means: the one made or reused last. `current_seq` counts every making or
reuse of a snapshot across the workspace; a name's row with the highest one is its current version. Rows from
before this migration count in the order they were made (their id), so each name keeps meaning its newest."""
from ..db import migration, run_script


@migration("0012_dataset_current")
def _dataset_current(conn):
    run_script(conn, """
        ALTER TABLE datasets ADD COLUMN current_seq INTEGER;
        UPDATE datasets SET current_seq = id;
        CREATE INDEX datasets_current ON datasets(name, current_seq)
    """)
