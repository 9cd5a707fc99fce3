"""Helpers the tests import by name: the real `llmops` console script and an unprivileged command prefix.

They live here, not in conftest.py, because tests/server/ has a conftest.py too: `from conftest import cli` then
finds whichever conftest module pytest loaded last (tests/server's, in a full run) and fails with ImportError."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def cli(*args, env=None, cwd=None, check=None, prefix=()):
    """Run the real `llmops` console script; returns CompletedProcess. `prefix` goes before it (e.g. unprivileged())."""
    exe = Path(sys.executable).with_name("llmops")
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run([*prefix, str(exe), *args], capture_output=True, text=True, env=full_env, cwd=cwd,
                          timeout=600)
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
    return proc


def unprivileged() -> list:
    """A command prefix that runs a process without root's power to ignore file permissions (so a read-only file
    is read-only even in a container that runs as root); [] when not root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root without setpriv (util-linux): install it (apt-get install util-linux) so the "
                    "read-only checks can drop root's power to ignore file permissions")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def require_node() -> str:
    """node runs the widgets' real front-end files; `make test` needs it anyway (the extension's tests), so a
    missing node fails with how to get it instead of skipping the front-end checks."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed; install Node 20 (apt-get install nodejs) to run the front-end tests")
    return node
