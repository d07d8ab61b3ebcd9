"""What the collector's subcommands share: the ``--state-dir`` option, finding and opening the database.

Every command finds the state the same way (``--state-dir DIR``, else
``$FLEETWATCH_STATE``, else ``./.fleetwatch``: see ``collector.paths``). The
help texts and the two "no database" messages differ between command groups;
they are kept as they were because users and tests read them.
"""

from __future__ import annotations

import getpass
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from collector import paths
from collector.storage.sqlite import connect

F = TypeVar("F", bound=Callable[..., Any])

#: ``devices``, ``latest``, ``stock``, ``reorder``, ``tokens``.
STATE_HELP = f"state directory (default ./{paths.DEFAULT_STATE_DIR} or ${paths.STATE_ENV})"
#: ``incidents``, ``maintenance``, ``audit``, ``report``.
STATE_HELP_SENTENCE = f"State directory (default: ${paths.STATE_ENV} or ./{paths.DEFAULT_STATE_DIR})."
#: ``collector run|status``, ``forecast``.
STATE_HELP_SHORT = "state directory"


def state_dir_option(dest: str = "state", *, help: str = STATE_HELP, file_okay: bool = True) -> Callable[[F], F]:
    """``--state-dir DIR`` as a ``Path`` (or None) in parameter ``dest``; ``file_okay=False`` refuses a file."""
    return click.option(  # type: ignore[return-value]
        "--state-dir", dest, type=click.Path(file_okay=file_okay, path_type=Path), default=None, help=help
    )


def existing_db(state: Path | None) -> Path:
    """The database file, or a ClickException (exit 1) saying where it was looked for."""
    db = paths.db_path(state)
    if not db.exists():
        raise click.ClickException(
            f"no fleetwatch database at {db}; run from the collector's directory or pass --state-dir DIR"
        )
    return db


def open_db(state: Path | None, *, readonly: bool = True) -> sqlite3.Connection:
    """Connect to the database; when it is missing, say where it was looked for and exit 1."""
    db = paths.db_path(state)
    if not db.exists():
        click.echo(
            f"error: no collector state at {db} (run from the directory where the collector runs, "
            f"or pass --state-dir / set {paths.STATE_ENV})",
            err=True,
        )
        sys.exit(1)
    return connect(db, readonly=readonly)


def who(by: str | None, default: str) -> str:
    """The person doing a change: ``--by``, else the login name, else ``default`` (no passwd entry, no tty)."""
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return default
