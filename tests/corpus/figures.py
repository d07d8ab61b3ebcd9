"""Conformance figures on the LibreNMS corpus, for the lead to quote.

    .venv/bin/python -m tests.corpus.figures [--details]

Starts one snmpsim over ../shared/corpus/librenms, runs ``fleetwatch poll
--json`` on every printer recording and the poller's detect + identity on the
others, and prints matched/total per area and bucket (see
``tests.corpus.printer_compare`` for what each bucket means).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from agent.simulator import Snmpsim
from tests.corpus.lib import (
    CORPUS,
    SKIP_REASON,
    corpus_available,
    identities,
    librenms,
    poll_all,
    recording,
    recording_names,
    serving_copy,
)
from tests.corpus.printer_compare import Comparison, compare_identity, compare_printer, tally

EXPLAIN = {
    ("supply", "real"): "LibreNMS reads a real percentage; ours within 1 point",
    ("supply", "receptacle_fill"): "waste box: LibreNMS shows remaining space, we show fill = 100 - it",
    ("supply", "minus_3"): "level -3: LibreNMS guesses 50, we say some_remaining",
    ("supply", "minus_1"): "level -1: LibreNMS guesses 0, we say unlimited",
    ("supply", "bad_capacity"): "capacity -1/-2/0: LibreNMS assumes 100, we say unknown",
    ("supply", "brother_code"): "Brother code 0..3: LibreNMS 100/5/0/1 %, we say full/low/empty/near_empty",
    ("supply", "ricoh_minus_100"): "Ricoh -100: LibreNMS 0, we say empty",
    ("supply_rows", "all_rows"): "recordings where every prtMarkerSuppliesTable row is reported",
    ("tray", "real"): "LibreNMS tray percentage; ours within 1 point",
    ("tray", "minus_3"): "tray level -3: LibreNMS guesses 50, we say some_remaining",
    ("error_flags", "bits"): "hrPrinterDetectedErrorState bits equal to the recording's",
    ("device_status", "hr_device_status"): "hrDeviceStatus equal to LibreNMS's state sensor",
    ("kind", "kind"): "device kind vs LibreNMS type (server = host)",
    ("serial", "serial"): "serial equal, where LibreNMS has one",
    ("model", "model"): "model vs LibreNMS hardware (loose: one contains the other)",
    ("firmware", "firmware"): "firmware vs LibreNMS version (loose)",
}


def main(argv: list[str]) -> int:
    if not corpus_available():
        print(SKIP_REASON, file=sys.stderr)
        return 2
    names = recording_names()
    printers = set(recording_names("printer"))
    with tempfile.TemporaryDirectory(prefix="fw-corpus-") as tmp, Snmpsim(serving_copy(Path(tmp))) as sim:
        sim.wait_ready(names[0], timeout=60)
        polls = poll_all(sim.port, sorted(printers))  # the real CLI, as a user runs it
        polls.update(identities(sim.port, [n for n in names if n not in printers]))  # detect + identity only
    printer_cmp: list[Comparison] = []
    identity_cmp: list[Comparison] = []
    crashed = []
    for name, poll in polls.items():
        if isinstance(poll, Exception):
            crashed.append(f"{name}: {type(poll).__name__}: {poll}")
            continue
        identity_cmp.append(compare_identity(name, poll, librenms(name)))
        if name in printers:
            printer_cmp.append(compare_printer(name, poll, librenms(name), recording(name)))
    print(f"corpus: {CORPUS} ({len(names)} recordings, {len(printers)} printers); polls failed: {len(crashed)}")
    for line in crashed:
        print("  FAILED", line)
    for title, comps in (("printers", printer_cmp), ("identity (all recordings)", identity_cmp)):
        print(f"\n{title}")
        for (area, bucket), (ok, total) in tally(comps).items():
            print(f"  {area:15} {bucket:17} {ok:3}/{total:<3} {EXPLAIN.get((area, bucket), '')}")
    if "--details" in argv:
        for comp in printer_cmp + identity_cmp:
            for c in comp.checks:
                if not c.ok or c.area in ("model", "firmware"):
                    print(f"  {'ok ' if c.ok else 'BAD'} {comp.name:24} {c.area:9} {c.detail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
