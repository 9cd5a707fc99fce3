"""Is the process that wrote something still running? Temp files (files.py) and runs (tracking) both ask, with
the pid they stored; /proc's start time tells a reused pid from the original."""
from __future__ import annotations

import os
from typing import Optional


def pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True


def start_token(pid: int) -> Optional[str]:
    """The process's start time in clock ticks since boot, as /proc/PID/stat gives it; None where /proc cannot tell."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read().decode(errors="replace")
        return data.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def process_start_time(pid: int) -> Optional[float]:
    """When process `pid` started (Unix time), or None where /proc cannot tell."""
    token = start_token(pid)
    if token is None:
        return None
    try:
        with open("/proc/stat", "rb") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith(b"btime"))
        return boot + int(token) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, StopIteration):
        return None
