"""Monitor verdicts: one row per saved `monitor()` report (model, both sides, volume, p-values, flagged and the
report's JSON), so the panel can show each model's last verdict without recomputing it."""
from ..db import migration, run_script


@migration("0035_monitor")
def _monitor(conn):
    run_script(conn, """
        CREATE TABLE monitor_reports (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            model TEXT,
            current TEXT NOT NULL,
            reference TEXT NOT NULL,
            volume INTEGER NOT NULL,
            status TEXT NOT NULL,
            prompt_p REAL,
            output_p REAL,
            flagged INTEGER NOT NULL,
            report TEXT NOT NULL
        );
        CREATE INDEX monitor_reports_model_ts ON monitor_reports(model, ts)
    """)
