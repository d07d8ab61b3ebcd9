"""Headless Debian chromium driven by playwright, launched once per test session.

Never ``playwright install``: the system chromium is used so the tests need
no download. Skipped with a reason when it is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


# Module scope, not session: sync_playwright keeps an event loop running while it is open, which would
# make every later asyncio.run() in the suite fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip(f"no chromium at {CHROMIUM} (Debian package 'chromium'; `make system-deps`)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    """A fresh 1600x900 page; requests to anything but 127.0.0.1 are recorded in ``page.foreign``."""
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    pg = context.new_page()
    pg.foreign = []  # type: ignore[attr-defined]
    pg.on("request", lambda r: None if r.url.startswith("http://127.0.0.1:") else pg.foreign.append(r.url))
    yield pg
    context.close()
