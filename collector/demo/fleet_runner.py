"""``python -m collector.demo.fleet_runner``: only the demo fleet (no collector or agent), kept moving.

Prints one line per device (community, endpoint) so a demo agent config can
point at it, then ticks the fleet every ``--interval`` wall seconds, each tick
worth ``interval * speed`` simulated seconds of office time. Ctrl-C stops
snmpsim and removes the work directory.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from collector.demo.fleet import SimulatedFleet

DEFAULT_RECORDINGS = Path(__file__).resolve().parents[2] / "deploy" / "demo" / "recordings"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m collector.demo.fleet_runner", description=__doc__.split("\n\n")[0])
    parser.add_argument("--recordings", type=Path, default=DEFAULT_RECORDINGS, help="directory of .snmprec files")
    parser.add_argument("--port", type=int, default=None, help="UDP port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--speed", type=float, default=60.0, help="simulated seconds per wall second (default 60)")
    parser.add_argument("--interval", type=float, default=2.0, help="wall seconds between ticks (default 2)")
    parser.add_argument(
        "--start", type=datetime.fromisoformat, default=None, help="simulated start time, ISO (default: now)"
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed for reproducible runs")
    args = parser.parse_args(argv)

    fleet = SimulatedFleet(args.recordings, seed=args.seed)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so `finally` stops snmpsim on kill
    try:
        fleet.start(port=args.port)
        host, port = fleet.endpoint
        for name in fleet.names:
            print(f"{name}\t{host}:{port}\tcommunity={name}", flush=True)
        sim_now = args.start or datetime.now()
        try:
            while True:
                time.sleep(args.interval)
                dt = args.interval * args.speed
                sim_now += timedelta(seconds=dt)
                fleet.tick(dt, sim_now)
        except KeyboardInterrupt:
            pass
    finally:
        fleet.close()


if __name__ == "__main__":
    main()
