"""Telling a run whose process died from one still running, so a killed run is marked 'crashed' when any
process next opens the workspace (registered as a workspace open hook)."""
from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Optional

from ..workspace import on_open
from ..workspace.files import clean_stale
from ..workspace.processes import pid_running, start_token


def alive(pid: int, token: Optional[str]) -> bool:
    """The run's process still runs (a pid reused by another process, with another start time, does not count)."""
    if not pid_running(pid):
        return False
    current = start_token(pid) if token is not None else None
    return current is None or current == token


@on_open
def reap_crashed_runs(conn) -> int:
    """Mark 'running' runs whose process on this host is gone as 'crashed'. Returns how many."""
    host = socket.gethostname()
    rows = conn.execute("SELECT id, pid, host, proc_token FROM runs WHERE status = 'running'").fetchall()
    dead = [r["id"] for r in rows if r["host"] == host and r["pid"] and not alive(r["pid"], r["proc_token"])]
    for run_id in dead:
        last = conn.execute(
            "SELECT max(ts) FROM (SELECT max(ts) ts FROM metrics WHERE run_id=? UNION ALL "
            "SELECT max(ts) FROM records WHERE run_id=?)", (run_id, run_id)).fetchone()[0]
        conn.execute("UPDATE runs SET status='crashed', ended_at=?, error=? WHERE id=? AND status='running'",
                     (last or time.time(), "the process ended without closing the run (killed or crashed)", run_id))
    if dead:  # an artifact the killed process was copying is a temp file in its run's folder
        artifacts = Path(conn.path).parent / "artifacts"
        clean_stale([(artifacts / run_id, 0) for run_id in dead if (artifacts / run_id).is_dir()])
    return len(dead)
