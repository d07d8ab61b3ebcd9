"""``make demo``: the whole product on one machine, on embedded storage.

Starts, all on loopback: the simulated fleet (snmpsim serving seven authored
recordings: five printers, a switch, a Linux host, each on its own address
127.0.0.11-17 with community "public"), a collector (ZeroMQ 8471,
HTTP 8470, SQLite in ./.fleetwatch), one agent polling the fleet and this
machine, and a stand-in ticket desk that receives the incident webhooks.

Before going live it writes two weeks of history through the real probes and
storage (the fleet simulated hour by hour, empty cartridges replaced as an
office would), so forecasts, charts and the monthly report have something to
show from the first minute. Then the fleet keeps moving (pages rise, toner
falls) and a short scenario plays: a jam appears and is cleared, a cartridge
is replaced. Ctrl-C stops everything and leaves the state for inspection.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from agent.offline import poll_recording
from agent.snmprec import Recording
from collector.demo.fleet import SimulatedFleet
from collector.incidents import store as incident_store
from collector.paths import REPO_ROOT
from collector.series import flatten
from collector.storage.sqlite import SqliteStorage, connect, read_devices, read_latest

RECORDINGS = REPO_ROOT / "deploy" / "demo" / "recordings"
SWITCH = "cisco-c9200l-24p"
#: device -> (labels, parent): who owns what, which contract tier, what hangs behind what.
INVENTORY: dict[str, tuple[dict[str, str], str | None]] = {
    "hp-clj-m477": ({"site": "hq", "department": "finance", "tier": "vip"}, SWITCH),
    "kyocera-taskalfa-2553ci": ({"site": "hq", "department": "sales", "tier": "premium"}, SWITCH),
    "brother-hl-l5100dn": ({"site": "hq", "department": "hr", "tier": "standard"}, SWITCH),
    "lexmark-ms621dn": ({"site": "branch", "department": "logistics", "tier": "standard"}, SWITCH),
    "epson-wf-c5790": ({"site": "branch", "department": "marketing", "tier": "premium"}, SWITCH),
    SWITCH: ({"site": "hq", "department": "it", "tier": "vip"}, None),
    "linux-files01": ({"site": "hq", "department": "it", "tier": "premium"}, SWITCH),
}
#: Spare parts on the shelf at the start (part, on hand, lead time days, safety stock, description).
STOCK = [
    ("CF410A", 1, 5, 1, "HP 410A black toner"),
    ("CF411A", 2, 5, 1, "HP 410A cyan toner"),
    ("CF412A", 0, 5, 1, "HP 410A yellow toner"),
]


def say(msg: str = "") -> None:
    print(msg, flush=True)


#: The history is written under the live agent's id: a separate writer would read as a silent agent
#: (an agent_silent incident) once the demo has run for stale_after.
DEMO_AGENT = "demo-agent"

# -- history --------------------------------------------------------------------------------------------


def backfill(fleet: SimulatedFleet, db_path: Path, days: float, end: datetime, step_s: float = 3600.0) -> int:
    """Simulate ``days`` of office life up to ``end`` and store an hourly poll of every device."""
    storage = SqliteStorage(db_path)
    t = end - timedelta(days=days)
    stored = 0
    batch: list = []
    try:
        while t < end:
            t += timedelta(seconds=step_s)
            fleet.tick(step_s, t)
            for name in fleet.names:
                dev = fleet.device(name)
                if dev.is_printer:
                    for idx, s in dev.supplies().items():
                        level, cap = s.get("level"), s.get("max")
                        # The office swaps a cartridge once the printer says it is empty.
                        if isinstance(level, int) and isinstance(cap, int) and cap > 0 and 0 <= level <= cap // 100:
                            fleet.replace_supply(name, idx)
                labels, parent = INVENTORY.get(name, ({}, None))
                poll = poll_recording(Recording.load(dev.path), name, t.timestamp(), labels=labels, parent=parent)
                batch.append(poll)
            if len(batch) >= 200 or t >= end:
                storage.store_batch(
                    f"history-{t.timestamp():.0f}", DEMO_AGENT, batch, [flatten(p) for p in batch], time.time()
                )
                stored += len(batch)
                batch = []
    finally:
        storage.close()
    return stored


# -- the ticket desk ------------------------------------------------------------------------------------


class TicketDesk:
    """Stands in for the customer's ticket system: logs every incident webhook it receives."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.received = 0
        desk = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                desk.received += 1
                with open(desk.log_path, "ab") as fh:
                    fh.write(body + b"\n")
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tickets"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


# -- configs --------------------------------------------------------------------------------------------


def write_configs(
    work: Path, state: Path, snmp_port: int, addresses: dict[str, str], desk_url: str, args: argparse.Namespace
) -> None:
    policy = yaml.safe_load((REPO_ROOT / "deploy" / "sla.yaml").read_text())
    policy["notify"]["channels"] = {"ticketing": {"type": "webhook", "url": desk_url}}
    policy["notify"]["routes"] = [{"events": ["open", "reopen", "acknowledge", "resolve"], "channels": ["ticketing"]}]
    for step in policy.get("escalation", []):
        step["notify"] = ["ticketing"]
    (work / "sla.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    collector = {
        "listen": f"tcp://127.0.0.1:{args.zmq_port}",
        "state_dir": str(state),
        "http": {"host": "127.0.0.1", "port": args.http_port, "anonymous_wall": True},
        "sla_policy": str(work / "sla.yaml"),
        "rule_interval": "5s",
        "stale_after": "2m",
    }
    (work / "collector.yaml").write_text(yaml.safe_dump(collector, sort_keys=False))
    agent = {
        "agent_id": DEMO_AGENT,
        "collector": {"endpoint": f"tcp://127.0.0.1:{args.zmq_port}", "insecure": True, "batch_max_wait": "0.5s"},
        "spool_dir": str(work / "agent-spool"),
        "defaults": {"interval": f"{args.poll}s", "timeout": "2s", "retries": 1, "port": snmp_port},
        "local_host": {"enabled": True, "interval": f"{args.poll}s", "labels": {"site": "hq", "department": "it"}},
        "targets": [
            {"name": name, "address": addresses[name], "community": "public", "labels": labels, "parent": parent}
            | ({} if parent else {"interval": f"{args.poll}s"})
            for name, (labels, parent) in INVENTORY.items()
        ],
    }
    for t in agent["targets"]:
        if t["parent"] is None:
            del t["parent"]
    (work / "agent.yaml").write_text(yaml.safe_dump(agent, sort_keys=False))


# -- processes ------------------------------------------------------------------------------------------


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115 - handed to the child for its lifetime
    return subprocess.Popen(
        [sys.executable, "-m", "collector.cli", *args], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def wait_http(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


# -- terminal view --------------------------------------------------------------------------------------


def status_table(db_path: Path) -> str:
    try:
        db = connect(db_path, readonly=True)
    except Exception:  # noqa: BLE001 - the collector may still be creating it
        return "(no data yet)"
    try:
        lines = [f"{'DEVICE':26} {'KIND':8} {'STATE':11} {'PAGES':>8}  SUPPLIES / STATUS"]
        for dev in read_devices(db):
            poll = read_latest(db, dev.device_id)
            if poll is None:
                continue
            pages = poll.counters.total_pages
            parts = []
            for s in poll.supplies[:5]:
                amount = f"{s.percent:.0f}%" if s.percent is not None else s.state.value
                # Toner/ink by colour; drums, fusers, waste by kind (a black imaging unit is not a second black).
                name = s.color if s.type in ("toner", "ink") and s.color else s.type
                parts.append(f"{name[:7]} {amount}")
            if poll.printer_status and poll.printer_status.error_flags:
                parts.append("[" + ",".join(poll.printer_status.error_flags) + "]")
            if poll.host:
                parts.append(f"cpu {poll.host.cpu_percent or 0:.0f}% mem {poll.host.memory_percent or 0:.0f}%")
            if poll.interfaces and not poll.supplies:
                up = sum(1 for i in poll.interfaces if i.oper_status == "up")
                parts.append(f"{up}/{len(poll.interfaces)} ports up")
            temps = [s for s in poll.sensors if s.kind == "temperature" and s.value is not None]
            if temps:
                parts.append(f"{max(t.value for t in temps):.0f}°C")  # type: ignore[type-var]
            state = "reachable" if poll.reachable else "UNREACHABLE"
            lines.append(
                f"{dev.device_id[:26]:26} {(dev.kind or '-')[:8]:8} {state:11} {pages if pages is not None else '-':>8}"
                f"  {'  '.join(parts)}"
            )
        db.row_factory = sqlite3.Row  # what the incident store's readers expect
        active = sorted((i for i in incident_store.query(db) if i.active), key=lambda i: (i.severity, i.number))
        lines.append(f"open incidents: {len(active)}")
        for i in active[:12]:
            lines.append(f"  #{i.number:<4} {i.severity} {i.device:26} {i.rule:28} {i.state.value}")
        return "\n".join(lines)
    except Exception as exc:  # noqa: BLE001 - tables appear as the collector starts its stages
        return f"(waiting for the collector: {exc})"
    finally:
        db.close()


# -- main -----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m collector.demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--state-dir", type=Path, default=Path(".fleetwatch"), help="where the demo keeps its state")
    p.add_argument("--http-port", type=int, default=8470)
    p.add_argument("--zmq-port", type=int, default=8471)
    p.add_argument("--snmp-port", type=int, default=0, help="UDP port for the simulated fleet (default: free)")
    p.add_argument("--poll", type=float, default=10.0, help="poll interval, seconds (default 10)")
    p.add_argument("--speed", type=float, default=60.0, help="simulated office seconds per wall second")
    p.add_argument("--history-days", type=float, default=14.0, help="days of history to write first (0: none)")
    p.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0: until Ctrl-C)")
    args = p.parse_args(argv)

    state = args.state_dir.resolve()
    if state.exists():
        previous = state.with_name(state.name + ".prev")
        shutil.rmtree(previous, ignore_errors=True)
        state.rename(previous)
        say(f"previous demo state moved to {previous}")
    work = state / "demo"
    work.mkdir(parents=True)
    db_path = state / "fleetwatch.db"

    fleet = SimulatedFleet(RECORDINGS, work / "fleet", seed=7)
    now = datetime.now(UTC)
    # The recordings carry today's faults; the two weeks before were ordinary office life.
    fleet.clear_jam("kyocera-taskalfa-2553ci")
    fleet.close_door("lexmark-ms621dn")
    if args.history_days > 0:
        say(f"writing {args.history_days:g} days of history for {len(fleet.names)} devices ...")
        t0 = time.monotonic()
        n = backfill(fleet, db_path, args.history_days, now)
        say(f"  {n} polls stored in {time.monotonic() - t0:.1f}s")
    # The story the demo tells: HP's black toner nearly out (and so are its spares), the Kyocera jammed,
    # the Lexmark's front door open.
    fleet.paper_jam("kyocera-taskalfa-2553ci")
    fleet.open_door("lexmark-ms621dn")
    hp = fleet.printer("hp-clj-m477")
    black = next(i for i, s in hp.supplies().items() if s.get("color") == "black")
    fleet.set_level("hp-clj-m477", black, 4)

    desk = TicketDesk(work / "tickets.jsonl")
    collector = agent = None
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        # Each device on its own loopback address (community "public"), as on a real network.
        own = [f"127.0.0.{11 + i}" for i in range(len(fleet.names))]
        fleet.start(port=args.snmp_port or None, log_path=work / "snmpsim.log", own_addresses=own)
        _, snmp_port = fleet.endpoint
        write_configs(work, state, snmp_port, fleet.addresses, desk.url, args)
        collector = start(["collector", "run", "--config", str(work / "collector.yaml")], work / "collector.log")
        base = f"http://127.0.0.1:{args.http_port}"
        if not wait_http(f"{base}/healthz", 60):
            say(f"error: the collector did not come up; see {work / 'collector.log'}")
            return 1
        env_state = ["--state-dir", str(state)]
        for part, on_hand, lead, safety, descr in STOCK:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "collector.cli",
                    "stock",
                    "set",
                    part,
                    "--on-hand",
                    str(on_hand),
                    "--lead-time-days",
                    str(lead),
                    "--safety-stock",
                    str(safety),
                    "--description",
                    descr,
                    "--by",
                    "demo",
                    *env_state,
                ],
                check=False,
                capture_output=True,
            )
        token = (
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "collector.cli",
                    "tokens",
                    "create",
                    "--role",
                    "admin",
                    "--name",
                    "demo",
                    *env_state,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            .stdout.strip()
            .splitlines()
        )
        admin_token = next((w for line in token for w in line.split() if w.startswith("fw_")), "")
        agent = start(["agent", "run", "--config", str(work / "agent.yaml"), "-v"], work / "agent.log")
        say()
        say("fleetwatch demo is running (Ctrl-C stops everything)")
        say(f"  NOC wall display   {base}/wall")
        say(f"  operator view      {base}/ui/?token={admin_token}")
        say(f"  API (admin token)  {base}/docs      token: {admin_token}")
        say(f"  SQLite file        {db_path}")
        say(f"  logs               {work}/collector.log, agent.log; tickets received: {work / 'tickets.jsonl'}")
        say("  in another terminal, from this directory:")
        say("    .venv/bin/fleetwatch devices | latest hp-clj-m477 | incidents list | forecast | reorder")
        say(f"    .venv/bin/fleetwatch discover {own[0]}-127.0.0.30 --port {snmp_port}")
        say(
            "    .venv/bin/fleetwatch report monthly --month " + now.strftime("%Y-%m") + " --format html -o report.html"
        )
        say()
        started = time.monotonic()
        sim_now = now
        last_table = 0.0
        scenario = [
            (60, "paper jam on brother-hl-l5100dn", lambda: fleet.paper_jam("brother-hl-l5100dn")),
            (150, "brother-hl-l5100dn jam cleared", lambda: fleet.clear_jam("brother-hl-l5100dn")),
            (240, "hp-clj-m477 black toner replaced", lambda: fleet.replace_supply("hp-clj-m477", black)),
        ]
        # Every tick rewrites the recordings and snmpsim re-indexes what changed: once every few seconds keeps
        # the simulator responsive on a small machine.
        tick = 5.0
        while not stopping.is_set():
            stopping.wait(tick)
            elapsed = time.monotonic() - started
            sim_now += timedelta(seconds=tick * args.speed)
            fleet.tick(tick * args.speed, sim_now)
            while scenario and elapsed >= scenario[0][0]:
                _, what, action = scenario.pop(0)
                action()
                say(f"[{elapsed:5.0f}s] scenario: {what}")
            if collector.poll() is not None or agent.poll() is not None:
                say(f"error: a process stopped; see {work}/collector.log and agent.log")
                return 1
            if elapsed - last_table >= 30 or (last_table == 0 and elapsed > 15):
                last_table = elapsed
                say(f"--- {datetime.now().strftime('%H:%M:%S')}  tickets received by the desk: {desk.received}")
                say(status_table(db_path))
            if args.duration and elapsed >= args.duration:
                break
    except KeyboardInterrupt:
        pass
    finally:
        say("stopping ...")
        stop(agent)
        stop(collector)
        fleet.close()
        desk.close()
        say(f"stopped. State kept in {state} (fleetwatch --state-dir {state} ...)")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
