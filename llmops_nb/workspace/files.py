"""Atomic file writes: write to a temp file in the same folder, fsync, rename over the target.

A crash at any point leaves either the old file or the new one, never half of one. Every temp name carries
the pid of the process writing it (`.NAME.PID-RANDOM.tmp`, `.NAME.old-PID`), so `clean_stale` can tell a
leftover of a killed process from work in flight, and `recover_dir` can finish a folder swap a kill cut short.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator, List, Tuple, Union

from .processes import pid_running, process_start_time

PathLike = Union[str, os.PathLike]
COMPLETE_MARK = ".complete"  # written into an atomic_dir temp folder once its content is whole
_in_flight: set = set()  # targets this process is swapping right now (atomic_dir)

# temp names this package makes; group "pid" is the writer's process id
_TEMP_NAMES = [
    re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)-[A-Za-z0-9_]+\.tmp$"),  # atomic_path / atomic_dir
    re.compile(r"^\.(?P<target>.+)\.old-(?P<pid>\d+)$"),  # atomic_dir: the replaced folder
    re.compile(r"^\.(?P<target>.+)\.tmp-(?P<pid>\d+)$"),  # an artifact folder being copied
    re.compile(r"^\.incoming-(?P<pid>\d+)-\d+\.parquet$"),  # a dataset snapshot being written
    re.compile(r"^\.spill-(?P<pid>\d+)-\d+\.pkl$"),  # a curation step's spill file
]


def _temp_prefix(target: Path) -> str:
    return f".{target.name}.{os.getpid()}-"


@contextlib.contextmanager
def atomic_path(target: PathLike, *, suffix: str = "") -> Iterator[Path]:
    """Yield a temp path beside `target`; on clean exit it is renamed over `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=suffix + ".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
        _fsync_dir(target.parent)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(target: PathLike, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def atomic_write_text(target: PathLike, text: str, encoding: str = "utf-8") -> Path:
    return atomic_write_bytes(target, text.encode(encoding))


def atomic_copy(src: PathLike, target: PathLike) -> Path:
    with atomic_path(target) as tmp:
        shutil.copyfile(src, tmp)
    return Path(target)


@contextlib.contextmanager
def atomic_dir(target: PathLike) -> Iterator[Path]:
    """Yield a temp folder beside `target`; on clean exit it replaces `target` (old one removed after).

    The swap takes two renames (target -> .old, temp -> target). A kill between them leaves no target
    but two whole folders; `recover_dir(target)` puts the newer one in place.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent))
    _in_flight.add(target)
    try:
        yield tmp
        (tmp / COMPLETE_MARK).touch()
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        try:
            _rename_into_place(tmp, target)
        except BaseException:
            if old is not None and not target.exists():
                os.replace(old, target)  # an error (not a kill) between the renames: the original goes back
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        _in_flight.discard(target)
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _rename_into_place(folder: Path, target: Path) -> None:
    os.replace(folder, target)
    (target / COMPLETE_MARK).unlink(missing_ok=True)
    _fsync_dir(target.parent)


def recover_dir(target: PathLike) -> bool:
    """If a kill cut `atomic_dir`'s swap short (no `target`, whole folders beside it), put the newest whole
    one in place: a finished temp folder, else the replaced original. True if something was recovered."""
    target = Path(target)
    if target.exists() or not target.parent.is_dir():
        return False
    finished, replaced = [], []
    for entry in target.parent.iterdir():
        parsed = _parse_temp(entry.name)
        if parsed is None or parsed[0] != target.name or not entry.is_dir():
            continue
        if _swap_in_flight(target, parsed[1], entry):
            return False  # a live writer is between its two renames: the target is about to appear
        if entry.name.endswith(".tmp") and (entry / COMPLETE_MARK).exists():
            finished.append(entry)
        elif ".old-" in entry.name:
            replaced.append(entry)
    for candidates in (finished, replaced):
        if candidates:
            best = max(candidates, key=lambda p: p.stat().st_mtime)
            try:
                _rename_into_place(best, target)
            except OSError:  # another process recovered it first
                return target.exists()
            return True
    return False


def _swap_in_flight(target: Path, pid: int, entry: Path) -> bool:
    if pid == os.getpid():
        return target in _in_flight
    return _made_by_a_live_process(pid, entry)


def _parse_temp(name: str):
    """(target name or None, pid) for one of our temp names, else None."""
    for pattern in _TEMP_NAMES:
        m = pattern.match(name)
        if m:
            return m.groupdict().get("target"), int(m.group("pid"))
    return None


def _made_by_a_live_process(pid: int, path: Path) -> bool:
    """True if process `pid` runs and started before `path` last changed (a reused pid did not make it)."""
    if pid == os.getpid():
        return True
    if not pid_running(pid):
        return False
    started = process_start_time(pid)
    if started is None:
        return True
    try:  # ctime, not mtime: a rename or copystat (copytree) leaves an old mtime but sets ctime to now
        return started <= path.lstat().st_ctime + 1
    except OSError:
        return True


def clean_stale(folders: List[Tuple[Path, int]], *, shared: Tuple[Path, ...] = ()) -> List[Path]:
    """Remove temp files and folders that a process which no longer runs left in each (folder, depth): the folder
    and its subfolders `depth` levels down, first recovering any folder swap it cut short. Returns what went.

    In a `shared` folder (a cache other machines or containers may write, whose pids this one cannot see) only
    leftovers older than SHARED_GRACE_S go."""
    removed: List[Path] = []
    for folder, depth in folders:
        min_age = SHARED_GRACE_S if Path(folder) in shared else 0.0
        removed += _clean_folder(Path(folder), depth, min_age)
    return removed


SHARED_GRACE_S = 6 * 3600


def _clean_folder(folder: Path, depth: int, min_age: float = 0.0) -> List[Path]:
    removed: List[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        parsed = _parse_temp(entry.name)
        path = Path(entry.path)
        if parsed is None:
            if depth > 0 and entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                removed += _clean_folder(path, depth - 1, min_age)
            continue
        target, pid = parsed
        if _made_by_a_live_process(pid, path) or (min_age and _age(path) < min_age):
            continue
        if target is not None and entry.is_dir(follow_symlinks=False) and recover_dir(folder / target):
            if not path.exists():  # this one was put in place
                continue
        if _remove(path):
            removed.append(path)
    return removed


def _age(path: Path) -> float:
    try:
        return time.time() - path.lstat().st_ctime
    except OSError:
        return 0.0


def _remove(path: Path) -> bool:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        return True
    except FileNotFoundError:
        return False
    except OSError:
        return False


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

