"""``fleetwatch rules check|test|list``: validate rule files, run rule tests, show what is loaded."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from collector.paths import shipped_rules_dir
from collector.rules.loader import load_rules_detailed
from collector.rules.testing import run_file


@click.group()
def rules() -> None:
    """Alerting rules: check rule files, run their tests."""


@rules.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def check(paths: tuple[Path, ...]) -> None:
    """Validate rule files in PATHS (directories or files; default: the shipped rules).

    Every error is printed as FILE:LINE: rule NAME: FIELD: message; exit status 1 when there is any.
    """
    sources = list(paths) or [shipped_rules_dir()]
    loaded, errors = load_rules_detailed(sources)
    for e in errors:
        click.echo(str(e), err=True)
    enabled = sum(1 for lr in loaded if lr.rule.enabled)
    files = len({lr.file for lr in loaded})
    click.echo(f"{enabled} rules ({len(loaded) - enabled} disabled) from {files} files, {len(errors)} errors")
    sys.exit(1 if errors else 0)


@rules.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def test(files: tuple[Path, ...]) -> None:
    """Run rule test files (promtool style, see rules/README.md); exit status 1 on any failure."""
    total, failed = 0, 0
    for f in files:
        n, failures = run_file(f)
        total += n
        failed += len(failures)
        for fail in failures:
            click.echo(f"FAIL {fail}", err=True)
        click.echo(f"{f}: {n} checks, {len(failures)} failures")
    click.echo(f"{'FAILED' if failed else 'OK'}: {total} checks, {failed} failures")
    sys.exit(1 if failed else 0)


@rules.command(name="list")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def list_(paths: tuple[Path, ...]) -> None:
    """List the rules loaded from PATHS (default: the shipped rules): name, severity, type, file."""
    loaded, errors = load_rules_detailed(list(paths) or [shipped_rules_dir()])
    for lr in sorted(loaded, key=lambda lr: lr.rule.alert):
        r = lr.rule
        state = "" if r.enabled else " (disabled)"
        click.echo(f"{r.alert:32} {r.severity} {r.incident_type:7} {Path(lr.file).name}{state}")
    if errors:
        click.echo(f"{len(errors)} errors: run 'fleetwatch rules check'", err=True)
