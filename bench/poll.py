"""Client CPU of our SNMP polling against net-snmp's snmpbulkwalk, same walks, same run.

Run: ``bench/poll`` (or ``.venv/bin/python bench/poll.py [--reps N] [--polls N] [--pysnmp]``).
``--pysnmp`` sends our side's v1/v2c requests through pysnmp's engine and pyasn1
(``SnmpSession(use_pysnmp=True)``, the path SNMPv3 takes) instead of our BER
codec: the before/after of the lean path, measured in the same run conditions.

What is measured, and how snmpsim's CPU is kept out:
- ours: ``time.process_time()`` of this process around the asyncio work. snmpsim
  is a separate process, so its CPU never lands in ours;
- net-snmp: each ``snmpbulkwalk`` is started with Popen and reaped with
  ``os.wait4``, which returns that one child's rusage (user + system), so the
  still-running snmpsim child is never counted either.

Walks (identical requests on both sides: GETBULK, max-repetitions 60, numeric OIDs):
1. per printer, the Printer-MIB subtree (1.3.6.1.2.1.43) with ``SnmpSession.walk_columns``;
2. the switch's IF-MIB tables (ifTable + ifXTable) as one bigger walk;
3. per printer, the columns the printer probe fetches, walked together by
   ``walk_columns``, beside one snmpbulkwalk per column (what a script would do).
Then a full ``agent.poller.poll_target`` per printer (steady state, identity
refreshed every 10th poll as in production): CPU per poll and per 10k varbinds.

net-snmp figures include its process start (it is a one-shot tool); the
"marginal" column subtracts the cost of a one-varbind walk to show its
per-varbind cost alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.simulator import Snmpsim  # noqa: E402
from agent.snmp import Credentials, SnmpSession, new_engine  # noqa: E402

RECORDINGS = ROOT / "deploy" / "demo" / "recordings"
PRINTERS = ["hp-clj-m477", "brother-hl-l5100dn", "kyocera-taskalfa-2553ci", "lexmark-ms621dn", "epson-wf-c5790"]
SWITCH = "cisco-c9200l-24p"
PRINTER_MIB = "1.3.6.1.2.1.43"
IF_TABLES = ["1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1"]  # ifTable, ifXTable
MAX_REPETITIONS = 60  # SnmpSession's default max_varbinds: one column gets all 60


@dataclass
class Row:
    group: str
    walk: str
    varbinds: int  # per repetition, rows returned
    wire_varbinds: int  # per repetition, varbinds in our responses (GETBULK overshoots each column's end)
    requests: int  # per repetition, our PDUs
    ours_s: float  # CPU seconds per repetition
    netsnmp_s: float
    netsnmp_marginal_s: float

    def per_10k(self, seconds: float) -> float:
        return seconds / self.varbinds * 10_000 if self.varbinds else float("nan")


def netsnmp_walk_cpu(host: str, port: int, community: str, root: str) -> tuple[float, int]:
    """One snmpbulkwalk: (its own user+sys CPU seconds, varbinds printed)."""
    cmd = ["snmpbulkwalk", "-v2c", "-c", community, "-On", "-Oq", "-Ox", f"-Cr{MAX_REPETITIONS}", "-t", "2", "-r", "0"]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([*cmd, f"{host}:{port}", root], stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        out = proc.stdout.read()  # not communicate(): it would reap the child and lose its rusage
        proc.stdout.close()
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"snmpbulkwalk {community} {root} failed: {err.read().decode(errors='replace')}")
    lines = [
        ln
        for ln in out.decode(errors="replace").splitlines()
        if ln.startswith(f".{root}.") and "No more variables left" not in ln  # endOfMibView rows at the end
    ]
    return usage.ru_utime + usage.ru_stime, len(lines)


def netsnmp_cpu(host: str, port: int, community: str, roots: list[str], reps: int) -> tuple[float, int]:
    total, varbinds = 0.0, 0
    for _ in range(reps):
        varbinds = 0
        for root in roots:
            cpu, n = netsnmp_walk_cpu(host, port, community, root)
            total += cpu
            varbinds += n
    return total / reps, varbinds


async def ours_cpu(session: SnmpSession, roots: list[str], reps: int) -> tuple[float, int, int, int]:
    """(CPU seconds, rows, varbinds on the wire, requests) per walk."""
    await session.walk_columns(roots)  # warm-up: transport, engine caches
    varbinds = 0
    wire0, req0 = session.varbinds, session.requests
    start = time.process_time()
    for _ in range(reps):
        result = await session.walk_columns(roots)
        varbinds = sum(len(v) for v in result.values())
    cpu = (time.process_time() - start) / reps
    return cpu, varbinds, (session.varbinds - wire0) // reps, (session.requests - req0) // reps


async def poll_cpu(
    host: str, port: int, engine: object, community: str, polls: int, use_pysnmp: bool
) -> tuple[float, int, int]:
    from agent.poller import TargetState, poll_target

    creds = Credentials(community=community)
    session = SnmpSession(engine, host, port, creds, timeout=2.0, retries=1, use_pysnmp=use_pysnmp)  # type: ignore[arg-type]
    state = TargetState()
    first = await poll_target(session, community, state)  # detection + identity, not steady state
    if not first.reachable or first.errors:
        raise RuntimeError(f"poll of {community} failed: {first.errors}")
    varbinds0, requests0 = session.varbinds, session.requests
    start = time.process_time()
    for _ in range(polls):
        poll = await poll_target(session, community, state)
        if poll.errors:
            raise RuntimeError(f"poll of {community} failed: {poll.errors}")
    cpu = (time.process_time() - start) / polls
    return cpu, (session.varbinds - varbinds0) // polls, (session.requests - requests0) // polls


def printer_probe_columns() -> list[str]:
    from agent.probes import printer

    return list(printer.FETCH.columns)


async def run(args: argparse.Namespace) -> None:
    if shutil.which("snmpbulkwalk") is None:
        sys.exit("snmpbulkwalk (net-snmp) is not installed")
    with Snmpsim(RECORDINGS) as sim:
        sim.wait_ready(PRINTERS[0])
        host, port = sim.host, sim.port
        engine = new_engine()

        def session(community: str) -> SnmpSession:
            creds = Credentials(community=community)
            return SnmpSession(engine, host, port, creds, timeout=2.0, retries=1, use_pysnmp=args.pysnmp)

        # one-varbind walk: what net-snmp pays per run before any data
        start_cpu, _ = netsnmp_cpu(host, port, PRINTERS[0], ["1.3.6.1.2.1.1.1"], args.reps)

        rows: list[Row] = []

        async def compare(group: str, label: str, community: str, roots: list[str]) -> None:
            ours, n_ours, wire, requests = await ours_cpu(session(community), roots, args.reps)
            theirs, n_theirs = netsnmp_cpu(host, port, community, roots, args.reps)
            if n_ours != n_theirs:
                raise RuntimeError(f"{label}: we saw {n_ours} varbinds, snmpbulkwalk {n_theirs}")
            marginal = max(0.0, theirs - len(roots) * start_cpu)
            rows.append(Row(group, label, n_ours, wire, requests, ours, theirs, marginal))

        same = "subtree walks (same GETBULK PDUs on both sides)"
        for p in PRINTERS:
            await compare(same, f"{p}: Printer-MIB subtree", p, [PRINTER_MIB])
        await compare(same, f"{SWITCH}: ifTable+ifXTable", SWITCH, IF_TABLES)
        columns = printer_probe_columns()
        cols = f"printer probe's {len(columns)} columns (ours: one GETBULK stream; net-snmp: one run per column)"
        for p in PRINTERS:
            await compare(cols, f"{p}: probe columns", p, columns)

        polls = []
        for p in PRINTERS:
            cpu, vb, req = await poll_cpu(host, port, engine, p, args.polls, args.pysnmp)
            polls.append((p, cpu, vb, req))
        engine.close_dispatcher()

    path = "pysnmp + pyasn1" if args.pysnmp else "agent.snmp_ber"
    print(f"# bench/poll  {time.strftime('%Y-%m-%d %H:%M')}  python {platform.python_version()}  "
          f"{platform.machine()}  cpus={os.cpu_count()}  reps={args.reps} polls={args.polls}  "
          f"v2c path: {path}  load {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"net-snmp snmpbulkwalk start-up (1-varbind walk): {start_cpu * 1000:.2f} ms CPU per run\n")
    print(
        "| walk | rows | our wire varbinds / requests | ours ms | snmpbulkwalk ms | ours s/10k rows "
        "| snmpbulkwalk s/10k rows | snmpbulkwalk marginal s/10k rows | ours / snmpbulkwalk |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for group in dict.fromkeys(r.group for r in rows):
        part = [r for r in rows if r.group == group]
        print(f"| *{group}* | | | | | | | | |")
        for r in part:
            print(
                f"| {r.walk} | {r.varbinds} | {r.wire_varbinds} / {r.requests} | {r.ours_s * 1000:.2f} | "
                f"{r.netsnmp_s * 1000:.2f} | {r.per_10k(r.ours_s):.3f} | {r.per_10k(r.netsnmp_s):.3f} | "
                f"{r.per_10k(r.netsnmp_marginal_s):.3f} | {r.ours_s / r.netsnmp_s:.2f} |"
            )
        vb = sum(r.varbinds for r in part)
        ours, net, marg = (sum(getattr(r, a) for r in part) for a in ("ours_s", "netsnmp_s", "netsnmp_marginal_s"))
        print(
            f"| **subtotal** | {vb} | | {ours * 1000:.2f} | {net * 1000:.2f} | {ours / vb * 1e4:.3f} | "
            f"{net / vb * 1e4:.3f} | {marg / vb * 1e4:.3f} | **{ours / net:.2f}** |"
        )
    print("\n| printer poll (agent.poller.poll_target, steady state) | varbinds/poll | requests/poll | "
          "CPU ms/poll | CPU s/10k vb |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    for p, cpu, vb, req in polls:
        print(f"| {p} | {vb} | {req} | {cpu * 1000:.2f} | {cpu / vb * 1e4 if vb else float('nan'):.3f} |")
    mean = sum(c for _, c, _, _ in polls) / len(polls)
    print(f"| **mean** | | | {mean * 1000:.2f} | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=20, help="repetitions of each walk (default 20)")
    parser.add_argument("--polls", type=int, default=30, help="steady-state polls per printer (default 30)")
    parser.add_argument("--pysnmp", action="store_true", help="our requests through pysnmp (the pre-codec path)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
