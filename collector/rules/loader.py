"""Reading rule files: every valid rule loads, every mistake is reported with file, line, rule and field.

A rule file is YAML in the Prometheus layout::

    groups:
      - name: printer_supplies
        rules:
          - alert: toner_low
            ...

Directories are read in the order given (shipped rules first, then the
user's); a rule in a later directory replaces the rule of the same name from
an earlier one (``enabled: false`` switches a shipped rule off). A broken
rule, or a whole broken file, is an error entry and never stops the others.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from collector.rules.model import Rule

RULE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class RuleError:
    file: str
    rule: str | None  # rule name, or "#3 in group x" when it has none; None for file-level errors
    field: str | None  # dotted path inside the rule (``condition.threshold.op``)
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = [where]
        if self.rule is not None:
            parts.append(f"rule {self.rule}")
        if self.field:
            parts.append(self.field)
        return ": ".join([*parts, self.message])


@dataclass(frozen=True)
class LoadedRule:
    rule: Rule
    file: str
    group: str


def rule_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files named by ``paths``: a file as is, a directory's ``*.yaml``/``*.yml`` (not recursive), sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.suffix in RULE_SUFFIXES and f.is_file()))
        else:
            out.append(p)
    return out


def load_rules(dirs: Iterable[str | os.PathLike[str]]) -> tuple[list[Rule], list[RuleError]]:
    """All valid, enabled rules from ``dirs`` (directories or files) and the errors met on the way."""
    loaded, errors = load_rules_detailed(dirs)
    return [lr.rule for lr in loaded if lr.rule.enabled], errors


def load_rules_detailed(dirs: Iterable[str | os.PathLike[str]]) -> tuple[list[LoadedRule], list[RuleError]]:
    """Like ``load_rules``, keeping disabled rules and where each rule came from."""
    by_name: dict[str, LoadedRule] = {}
    errors: list[RuleError] = []
    for source in dirs:
        seen_here: dict[str, str] = {}
        for f in rule_files([source]):
            rules, errs = load_file(f)
            errors.extend(errs)
            for lr in rules:
                name = lr.rule.alert
                if name in seen_here:
                    errors.append(RuleError(lr.file, name, "alert", f"duplicate rule name (also in {seen_here[name]})"))
                    continue
                seen_here[name] = lr.file
                by_name[name] = lr  # a later directory overrides an earlier one
    return list(by_name.values()), errors


def load_file(path: str | os.PathLike[str]) -> tuple[list[LoadedRule], list[RuleError]]:
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [RuleError(name, None, None, f"cannot read: {exc}")]
    return parse_text(text, name)


def parse_text(text: str, name: str) -> tuple[list[LoadedRule], list[RuleError]]:
    try:
        doc = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return [], [RuleError(name, None, None, f"not valid YAML: {exc}".replace("\n", " "), line)]
    if doc is None:
        return [], []  # empty file (comments only)
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        return [], [RuleError(name, None, "groups", "a rule file is a mapping with a list under 'groups'", 1)]
    errors: list[RuleError] = []
    extra = sorted(set(doc) - {"groups"})
    if extra:
        errors.append(RuleError(name, None, extra[0], "unknown top-level key (only 'groups' is allowed)"))
    out: list[LoadedRule] = []
    for gi, group in enumerate(doc["groups"]):
        gpath: list[Any] = ["groups", gi]
        if not isinstance(group, dict) or not isinstance(group.get("rules"), list):
            errors.append(
                RuleError(name, None, f"groups[{gi}]", "a group has a 'name' and a list of 'rules'", _line(node, gpath))
            )
            continue
        gname = str(group.get("name", f"#{gi + 1}"))
        unknown = sorted(set(group) - {"name", "rules"})
        if unknown:
            errors.append(RuleError(name, None, f"groups[{gi}].{unknown[0]}", "unknown group key", _line(node, gpath)))
        for ri, raw in enumerate(group["rules"]):
            rpath = [*gpath, "rules", ri]
            label = raw.get("alert") if isinstance(raw, dict) and isinstance(raw.get("alert"), str) else None
            label = label or f"#{ri + 1} in group {gname}"
            if not isinstance(raw, dict):
                errors.append(RuleError(name, label, None, "a rule is a mapping", _line(node, rpath)))
                continue
            try:
                rule = Rule.model_validate(raw)
            except ValidationError as exc:
                for e in exc.errors():
                    loc = [p for p in e["loc"] if p not in _UNION_TAGS]
                    field = _dotted(loc)
                    msg = e["msg"].removeprefix("Value error, ")
                    errors.append(RuleError(name, label, field or None, msg, _line(node, [*rpath, *loc])))
                continue
            out.append(LoadedRule(rule, name, gname))
    return out, errors


# pydantic inserts the member type name into the location of union-typed fields; not a YAML key.
_UNION_TAGS = {"float", "str", "list[str]", "function-before[_one_or_many(), list[str]]"}


def _dotted(loc: Sequence[Any]) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _line(node: yaml.Node | None, path: Sequence[Any]) -> int | None:
    """Line (1-based) of the deepest YAML node along ``path`` that exists."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for p in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == p), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(p, int) and 0 <= p < len(node.value):
            child = node.value[p]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
