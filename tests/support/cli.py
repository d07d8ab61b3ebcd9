"""Run the real ``fleetwatch`` CLI in a process of its own, as a user's shell would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def fleetwatch(
    *args: str, cwd: Path, check: bool = True, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``env`` replaces the environment (pass ``{**os.environ, ...}`` to add to it)."""
    return subprocess.run(
        [sys.executable, "-m", "collector.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
        env=dict(env) if env is not None else None,
    )
