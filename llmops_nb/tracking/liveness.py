"""Telling a run whose process died from one still running, so a killed run is marked 'crashed' when any
process next opens the workspace (registered as a workspace open hook)."""
from __future__ import annotations

import os
import socket
import time
from typing import Optional

from ..workspace import on_open


def proc_token(pid: int) -> Optional[str]:
    """Process start time from /proc, so a reused pid is not mistaken for the run's process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read().decode(errors="replace")
        return data.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def alive(pid: int, token: Optional[str]) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if token is not None:
        current = proc_token(pid)
        if current is not None and current != token:
            return False
    return True


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
    return len(dead)
