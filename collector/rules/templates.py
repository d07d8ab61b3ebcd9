"""Annotation templates (``"{{ device }} {{ color }} toner at {{ value }}%"``) rendered with Jinja2.

Rule files may come from users, so templates run in Jinja's sandbox; an
unknown name renders as empty text and a failing template falls back to its
source text, so a typo in a summary never costs an alert.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

ENV = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)


class Num(float):
    """A reading in a template: prints ``9`` rather than ``9.0`` and ``12.35`` rather than ``12.345678``."""

    def __str__(self) -> str:
        if not math.isfinite(self):
            return str(float(self))
        if self == int(self) and abs(self) < 1e15:
            return str(int(self))
        return f"{self:.2f}".rstrip("0").rstrip(".")

    __format__ = float.__format__


def template_value(v: float | str) -> Any:
    return v if isinstance(v, str) else Num(v)


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    return ENV.from_string(source)


def render(source: str, context: dict[str, Any]) -> str:
    try:
        return _compiled(source).render(context).strip()
    except Exception:  # noqa: BLE001 - any template failure degrades to the raw text, never to a lost alert
        return source
