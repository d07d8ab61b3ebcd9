"""README.md cannot rot: every ``fleetwatch`` command and option it shows exists in the CLI.

The README is what users script against, so a renamed subcommand or flag
must fail here, not in a user's cron job. Invocations are taken from fenced
code blocks (line by line; shell comments, quoted values and pipes cut off)
and from inline code spans (the command table, where ``\\|`` means "or").
Each is resolved through the real click tree (``collector.cli.main``, whose
subcommands load lazily from ``COMMANDS``), and every ``-x`` / ``--flag``
shown must be a parameter of the command it resolved to. The other way
round, every command of the CLI must appear in the README at least once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from collector.cli import COMMANDS, main

README = Path(__file__).resolve().parents[2] / "README.md"

_FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.M | re.S)
#: An inline code span; it may wrap onto the next line but never crosses a blank line.
_SPAN = re.compile(r"`([^`]+?)`")
#: ``fleetwatch`` as a command word: at the start, after a space, a path (``.venv/bin/``), ``$(`` or ``$ ``.
_CALL = re.compile(r"(?:^|(?<=[\s/($]))fleetwatch[ \t]+(\S.*)$")
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
_FLAG = re.compile(r"^--?[A-Za-z][A-Za-z0-9-]*$")
_HELP = {"-h", "--help"}


@dataclass(frozen=True)
class Invocation:
    text: str  # what follows "fleetwatch", cleaned
    where: str  # "README.md:LINE"
    alternatives: bool  # inline span: "|" separates alternatives, not a shell pipe


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def invocations(text: str) -> list[Invocation]:
    """Every ``fleetwatch ...`` the text shows, in fenced blocks and in inline code spans."""
    found: list[Invocation] = []
    prose = text
    for block in _FENCE.finditer(text):
        start = _line_of(text, block.start(1))
        lines = block.group(1).split("\n")
        joined: list[tuple[int, str]] = []
        pending = ""
        for n, line in enumerate(lines, start=start):
            if pending:
                line = pending + " " + line.strip()
            if line.rstrip().endswith("\\"):  # shell continuation
                pending = line.rstrip()[:-1]
                continue
            pending = ""
            joined.append((n, line))
        for n, line in joined:
            line = _QUOTED.sub("ARG", line)
            line = re.split(r"(?:^|\s)#", line, maxsplit=1)[0]  # shell / YAML comment
            m = _CALL.search(line)
            if m:
                rest = re.split(r"\||&&|;|\)|>", m.group(1), maxsplit=1)[0]
                found.append(Invocation(rest.strip(), f"README.md:{n}", alternatives=False))
        # blank the block (keeping line numbers) so its backticks do not pair up with the prose's
        prose = prose[: block.start()] + re.sub(r"[^\n]", " ", block.group(0)) + prose[block.end() :]
    for span in _SPAN.finditer(prose):
        body = span.group(1)
        if "\n\n" in body:
            continue
        m = _CALL.search(" ".join(body.split()))
        if m and body.lstrip().startswith("fleetwatch"):
            rest = _QUOTED.sub("ARG", m.group(1)).replace("\\|", "|")
            found.append(Invocation(rest.strip(), f"README.md:{_line_of(text, span.start())}", alternatives=True))
    return found


def _tokens(inv: Invocation) -> list[str]:
    text = re.sub(r"[\[\](){}]", " ", inv.text)
    if inv.alternatives:
        text = text.replace("|", " ")
    out = []
    for tok in text.split():
        if tok.startswith("-") and "=" in tok:
            tok = tok.split("=", 1)[0]
        out.append(tok)
    return out


def _option_names(cmd: click.Command) -> set[str]:
    names = set(_HELP)
    for p in cmd.params:
        if isinstance(p, click.Option):
            names.update(p.opts)
            names.update(p.secondary_opts)
    return names


def check(inv: Invocation) -> tuple[list[str], list[str]]:
    """(command path, problems) for one invocation."""
    ctx = click.Context(main)
    cmd: click.Command = main
    path = ["fleetwatch"]
    toks = _tokens(inv)
    i = 0
    while isinstance(cmd, click.Group) and i < len(toks) and not toks[i].startswith("-"):
        sub = cmd.get_command(ctx, toks[i])
        if sub is None:
            known = ", ".join(cmd.list_commands(ctx))
            return path, [f"{inv.where}: `{' '.join(path)} {toks[i]}`: no such command (known: {known})"]
        cmd, path, i = sub, [*path, toks[i]], i + 1
    allowed = _option_names(cmd)
    problems = [
        f"{inv.where}: `{' '.join(path)}` has no option {tok} (it has: {', '.join(sorted(allowed - _HELP))})"
        for tok in toks[i:]
        if _FLAG.match(tok) and tok not in allowed
    ]
    return path, problems


def _leaf_paths() -> set[tuple[str, ...]]:
    ctx = click.Context(main)
    out: set[tuple[str, ...]] = set()

    def walk(cmd: click.Command, path: tuple[str, ...]) -> None:
        if isinstance(cmd, click.Group):
            if cmd.invoke_without_command:
                out.add(path)  # e.g. `fleetwatch forecast` lists, `forecast series` is a subcommand
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None, f"{' '.join(path)} {name}: listed but cannot be loaded"
                walk(sub, (*path, name))
        else:
            out.add(path)

    walk(main, ("fleetwatch",))
    return out


README_TEXT = README.read_text(encoding="utf-8")
SHOWN = invocations(README_TEXT)


def test_readme_shows_many_commands() -> None:
    # guards the extraction itself: a regex that silently matched nothing would pass every check below
    assert len(SHOWN) >= 80, f"only {len(SHOWN)} fleetwatch invocations found in README.md"


@pytest.mark.parametrize("inv", SHOWN, ids=[f"{i.where} {i.text[:50]}" for i in SHOWN])
def test_readme_command_exists_with_its_options(inv: Invocation) -> None:
    _, problems = check(inv)
    assert not problems, "\n".join(problems)


def test_every_cli_command_is_in_readme() -> None:
    shown = {tuple(check(inv)[0]) for inv in SHOWN}
    missing = sorted(" ".join(p) for p in _leaf_paths() - shown)
    assert not missing, f"commands not shown anywhere in README.md: {missing}"
    assert {p[1] for p in shown if len(p) > 1} >= set(COMMANDS)


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("```sh\nfleetwatch incidnets list\n```", "no such command"),
        ("```sh\nfleetwatch incidents lst\n```", "no such command"),
        ("```sh\n.venv/bin/fleetwatch incidents list --sevrity P1   # typo\n```", "no option --sevrity"),
        ("```sh\nfleetwatch incidents ack 3 --cause x\n```", "no option --cause"),  # a flag of `resolve`
        ("```sh\nfleetwatch stock set P \\\n    --on-hnad 3\n```", "no option --on-hnad"),  # continuation line
        ("see `fleetwatch reorder [--json \\| --xml]`", "no option --xml"),
        ("```sh\nTOKEN=$(fleetwatch tokens create --rol viewer)\n```", "no option --rol"),
    ],
    ids=["typo-command", "typo-subcommand", "typo-flag", "flag-of-other-command", "continuation", "table", "subshell"],
)
def test_checker_catches_rot(snippet: str, expected: str) -> None:
    problems = [p for inv in invocations(snippet) for p in check(inv)[1]]
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    "snippet",
    [
        '```sh\nfleetwatch maintenance add --site hq --rrule "FREQ=WEEKLY;BYDAY=FR" --duration 1h'
        " --reason 'x # y'\n```",
        "```sh\n.venv/bin/fleetwatch devices | latest hp-clj-m477   # --not-a-flag in a comment\n```",
        "```\n# /etc/fleetwatch/rules/site.yaml\nsender: fleetwatch@localhost\n```",
        "the `fleetwatch` root and `fleetwatch-1-open-1-ticketing`",
        "`fleetwatch incidents list [--state open\\|closed] [--json]`",
    ],
    ids=["quoted-values", "pipe-and-comment", "not-a-command", "prose-mentions", "table-alternatives"],
)
def test_checker_accepts_valid_text(snippet: str) -> None:
    problems = [p for inv in invocations(snippet) for p in check(inv)[1]]
    assert not problems, problems


def test_readme_relative_links_exist() -> None:
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README_TEXT)
    relative = [t for t in targets if "://" not in t]
    assert relative, "no relative links found: the pattern is broken"
    missing = sorted({t for t in relative if not (README.parent / t).exists()})
    assert not missing, f"README.md links to missing files: {missing}"
