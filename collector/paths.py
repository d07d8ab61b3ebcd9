"""Where the collector's state lives, and where shipped data files are.

The default state directory is ``./.fleetwatch`` relative to the directory the
collector (or ``make demo``) was started from, so every reading command run
from that same directory finds it with no options. Override with
``--state-dir DIR`` or the ``FLEETWATCH_STATE`` environment variable. This is a
documented contract (README, "State location").
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_ENV = "FLEETWATCH_STATE"
DEFAULT_STATE_DIR = ".fleetwatch"
DB_FILENAME = "fleetwatch.db"

#: Repository root when running from a checkout / editable install.
REPO_ROOT = Path(__file__).resolve().parent.parent


def state_dir(option: str | os.PathLike[str] | None = None) -> Path:
    if option:
        return Path(option)
    env = os.environ.get(STATE_ENV)
    if env:
        return Path(env)
    return Path.cwd() / DEFAULT_STATE_DIR


def db_path(state: str | os.PathLike[str] | None = None) -> Path:
    return state_dir(state) / DB_FILENAME


def shipped_rules_dir() -> Path:
    return REPO_ROOT / "rules"


def deploy_dir() -> Path:
    return REPO_ROOT / "deploy"
