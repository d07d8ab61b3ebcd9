"""One agent, 2,000 simulated devices polled every minute: poll cycle time, agent CPU and memory.

Real processes: ``--sims`` snmpsim responders on 127.0.0.2, 127.0.0.3 ...
(one loopback address each, devices spread over them, all serving the test
printer recording), one ``fleetwatch collector run`` and one ``fleetwatch
agent run`` with ``--devices`` targets at a 60 s interval. The cycle time of
poll round k is from the first poll's start to the last poll's end among
the k-th polls of all devices, read back from what the collector stored;
CPU and RSS are sampled from the agent process with psutil.

    .venv/bin/python bench/fleet.py                    # 2,000 devices, 3 cycles, ~4 minutes
    .venv/bin/python bench/fleet.py --devices 500 --cycles 2
    .venv/bin/python bench/fleet.py --cycles 2 --profile-agent /tmp/agent.prof   # cProfile the agent (slower)

The box's load average is printed at the start and the end: the simulators,
the collector and the agent share its cores, so other jobs change the cycle.

Reading the cycle: all devices start within the first 2 s (the runner's
offsets), so cycle 1 is a backlog of 2,000 first polls (detection + identity)
through ``max_in_flight``. A device whose poll ends after its next due time
is next polled one interval after that end, so the phases spread by cycle 1
stay spread: from cycle 2 on, "seconds" (first start to last end of the k-th
polls) can exceed the interval while every device is still polled every
interval. ``period_*`` (each device's time between its consecutive poll
starts) says whether the interval is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.simulator import Snmpsim, free_udp_port  # noqa: E402

RECORDING = ROOT / "tests" / "data" / "snmp" / "test-printer.snmprec"


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fleetwatch(args: list[str], cwd: Path, log: Path, profile: str | None = None) -> subprocess.Popen[bytes]:
    prefix = ["-m", "cProfile", "-o", profile] if profile else []
    return subprocess.Popen(
        [sys.executable, *prefix, "-m", "collector.cli", *args],
        cwd=cwd,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        env={"PYTHONPATH": str(ROOT), **dict(os.environ)},
    )


def polls_by_device(db_path: Path) -> dict[str, list[tuple[float, float]]]:
    """device -> [(poll start, duration)] in time order, from the stored up / poll_duration_seconds series."""
    if not db_path.exists():
        return {}
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        rows = db.execute(
            "SELECT s.device_id, x.ts, x.value FROM series s JOIN samples x ON x.series_id = s.id "
            "WHERE s.metric = 'poll_duration_seconds' ORDER BY s.device_id, x.ts"
        ).fetchall()
    except sqlite3.OperationalError:
        return {}
    finally:
        db.close()
    out: dict[str, list[tuple[float, float]]] = {}
    for dev, ts, dur in rows:
        out.setdefault(dev, []).append((ts, dur))
    return out


def unreachable_polls(db_path: Path) -> int:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return int(
            db.execute(
                "SELECT COUNT(*) FROM series s JOIN samples x ON x.series_id = s.id WHERE s.metric='up' AND x.value=0"
            ).fetchone()[0]
        )
    finally:
        db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=2000)
    ap.add_argument("--sims", type=int, default=4, help="snmpsim processes (one loopback address each)")
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--interval", type=float, default=60.0)
    ap.add_argument("--max-in-flight", type=int, default=64)
    ap.add_argument("--profile-agent", metavar="PATH", help="run the agent under cProfile, stats written to PATH")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    load_start = os.getloadavg()

    tmp = Path(tempfile.mkdtemp(prefix="fw-bench-fleet-"))
    data = tmp / "data"
    data.mkdir()
    shutil.copy(RECORDING, data / RECORDING.name)
    sims = [
        Snmpsim(data, [(f"127.0.0.{2 + i}", free_udp_port(f"127.0.0.{2 + i}"))], log_path=tmp / f"snmpsim-{i}.log")
        for i in range(args.sims)
    ]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for s in sims:
            s.start()
        for s in sims:
            s.wait_ready("test-printer", timeout=60)
        endpoint = f"tcp://127.0.0.1:{free_tcp_port()}"
        (tmp / "collector.yaml").write_text(
            yaml.safe_dump({"listen": endpoint, "http": {"enabled": False}, "stale_after": "1d"})
        )
        targets = []
        for i in range(args.devices):
            sim = sims[i % len(sims)]
            targets.append({"name": f"dev-{i:05d}", "address": sim.host, "port": sim.port, "community": "test-printer"})
        (tmp / "agent.yaml").write_text(
            yaml.safe_dump(
                {
                    "agent_id": "bench-fleet",
                    "collector": {"endpoint": endpoint},
                    "spool_dir": str(tmp / "spool"),
                    "max_in_flight": args.max_in_flight,
                    "defaults": {"interval": args.interval, "timeout": 2, "retries": 1},
                    "local_host": {"enabled": False},
                    "targets": targets,
                }
            )
        )
        collector = fleetwatch(["collector", "run", "--config", str(tmp / "collector.yaml")], tmp, tmp / "c.log")
        procs.append(collector)
        time.sleep(2)
        agent_args = ["agent", "run", "--config", str(tmp / "agent.yaml")]
        agent = fleetwatch(agent_args, tmp, tmp / "agent.log", args.profile_agent)
        procs.append(agent)
        ap_ = psutil.Process(agent.pid)
        sim_ps = [psutil.Process(s.proc.pid) for s in sims if s.proc]
        started = time.monotonic()
        cpu0 = ap_.cpu_times()
        sim_cpu0 = sum(p.cpu_times().user + p.cpu_times().system for p in sim_ps)
        rss_peak = 0
        db_path = tmp / ".fleetwatch" / "fleetwatch.db"
        deadline = started + args.cycles * args.interval * 4 + 120  # a cycle may overrun its interval
        polls: dict[str, list[tuple[float, float]]] = {}
        while time.monotonic() < deadline:
            time.sleep(2)
            if agent.poll() is not None:
                raise SystemExit(f"agent exited: {(tmp / 'agent.log').read_text()[-2000:]}")
            rss_peak = max(rss_peak, ap_.memory_info().rss)
            polls = polls_by_device(db_path)
            done = min((len(v) for v in polls.values()), default=0) if len(polls) == args.devices else 0
            if done >= args.cycles:
                break
        wall = time.monotonic() - started
        cpu1 = ap_.cpu_times()
        sim_cpu1 = sum(p.cpu_times().user + p.cpu_times().system for p in sim_ps)
        rss_end = ap_.memory_info().rss
        cycles = []
        for k in range(args.cycles):
            kth = [v[k] for v in polls.values() if len(v) > k]
            if len(kth) < args.devices:
                break
            start = min(ts for ts, _ in kth)
            end = max(ts + d for ts, d in kth)
            durations = sorted(d for _, d in kth)
            row: dict[str, object] = {
                "cycle": k + 1,
                "seconds": round(end - start, 1),
                "poll_p50_s": round(durations[len(durations) // 2], 3),
                "poll_p99_s": round(durations[int(len(durations) * 0.99)], 3),
            }
            if k:
                # Each device's own period (start of its previous poll -> this one): the interval is kept when
                # it is ~60 s for every device, even if the devices' phases are spread over more than 60 s.
                periods = sorted(v[k][0] - v[k - 1][0] for v in polls.values())
                row["period_p50_s"] = round(periods[len(periods) // 2], 1)
                row["period_max_s"] = round(periods[-1], 1)
                row["periods_over_interval_plus_1s"] = sum(1 for p in periods if p > args.interval + 1)
            cycles.append(row)
        agent_cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
        out = {
            "devices": args.devices,
            "snmpsim_processes": args.sims,
            "interval_s": args.interval,
            "max_in_flight": args.max_in_flight,
            "cycles": cycles,
            "cycles_complete": len(cycles) == args.cycles,
            "unreachable_polls": unreachable_polls(db_path) if db_path.exists() else None,
            "wall_s": round(wall, 1),
            "agent_cpu_s": round(agent_cpu, 1),
            "agent_cpu_percent_of_one_core": round(100 * agent_cpu / wall, 1),
            "agent_cpu_s_per_device_poll": round(agent_cpu / max(1, args.devices * len(cycles)), 4),
            "snmpsim_cpu_percent_of_one_core": round(100 * (sim_cpu1 - sim_cpu0) / wall, 1),
            "agent_rss_mb_peak": round(rss_peak / 2**20, 1),
            "agent_rss_mb_end": round(rss_end / 2**20, 1),
            "load_average_1m_start_end": [round(load_start[0], 2), round(os.getloadavg()[0], 2)],
            "code": str(ROOT),
        }
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        for s in sims:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    for k, v in out.items():
        print(f"{k:34} {v}")


if __name__ == "__main__":
    main()
