"""CURVE: only allow-listed agents get in; a tampered stream is refused; the collector stays up."""

from __future__ import annotations

import asyncio
import threading

import yaml

from tests.e2e.conftest import Proc, Stack, fleetwatch
from tests.support.net import free_port, wait_for


def _keys(stack: Stack) -> None:
    for name in ("collector", "agent1", "intruder"):
        fleetwatch("keys", "generate", name, "--dir", "keys", cwd=stack.root)
    allowed = stack.root / "allowed"
    allowed.mkdir()
    (allowed / "agent1.key").write_bytes((stack.root / "keys" / "agent1.key").read_bytes())


def _secure(stack: Stack, agent_name: str, endpoint: str, device: str, cfg_name: str) -> Proc:
    cfg = yaml.safe_load(stack.agent_cfg.read_text())
    cfg["agent_id"] = agent_name
    cfg["spool_dir"] = str(stack.root / f"spool-{cfg_name}")
    cfg["local_host"] = {"enabled": False}
    cfg["targets"] = [{"name": device, "address": "127.0.0.1", "community": "test-printer"}]
    cfg["collector"].update(
        endpoint=endpoint,
        insecure=False,
        server_public_key=str(stack.root / "keys" / "collector.key"),
        client_secret_key=str(stack.root / "keys" / f"{agent_name}.key_secret"),
    )
    path = stack.root / f"{cfg_name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return Proc(["agent", "run", "--config", str(path), "-v"], stack.root, stack.root / f"{cfg_name}.log")


class CorruptingProxy:
    """TCP relay agent -> collector that flips one byte in every connection after the handshake."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target_port = target_port
        self.loop = asyncio.new_event_loop()
        self.corrupted = 0
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _pipe(self, reader, writer, corrupt_at: int | None) -> None:  # type: ignore[no-untyped-def]
        seen = 0
        try:
            while data := await reader.read(65536):
                if corrupt_at is not None and seen <= corrupt_at < seen + len(data):
                    i = corrupt_at - seen
                    data = data[:i] + bytes([data[i] ^ 0x55]) + data[i + 1 :]
                    self.corrupted += 1
                seen += len(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader, writer) -> None:  # type: ignore[no-untyped-def]
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        # The CURVE handshake is a few hundred bytes; byte 1200 falls inside the first batch message.
        await asyncio.gather(self._pipe(reader, up_writer, 1200), self._pipe(up_reader, writer, None))

    def start(self) -> None:
        self.thread.start()
        fut = asyncio.run_coroutine_threadsafe(asyncio.start_server(self._handle, "127.0.0.1", self.port), self.loop)
        self.server = fut.result(5)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)


def test_unknown_and_tampered_agents_are_refused(stack: Stack):
    _keys(stack)
    stack.write_configs(
        [],
        curve={
            "enabled": True,
            "server_secret_key": str(stack.root / "keys" / "collector.key_secret"),
            "allowed_clients_dir": str(stack.root / "allowed"),
        },
    )
    endpoint = f"tcp://127.0.0.1:{stack.zmq_port}"
    stack.collector.start()
    proxy = CorruptingProxy(stack.zmq_port)
    proxy.start()
    good = _secure(stack, "agent1", endpoint, "good-printer", "good").start()
    intruder = _secure(stack, "intruder", endpoint, "intruder-printer", "intruder").start()
    tampered = _secure(stack, "agent1", f"tcp://127.0.0.1:{proxy.port}", "tampered-printer", "tampered").start()
    try:
        wait_for(lambda: "good-printer" in stack.devices(), 30, "the allow-listed agent's data")
        stats = wait_for(
            lambda: (s := stack.cli_json("collector", "status")).get("agents_refused", 0) >= 1 and s,
            20,
            "the intruder's handshake refused and counted",
        )
        assert stats["agents_refused"] >= 1
        wait_for(lambda: proxy.corrupted >= 2, 20, "the proxy to corrupt two connection attempts")
        assert set(stack.devices()) == {"good-printer"}, "nothing from the intruder or the tampered stream"
        assert stack.collector.alive()
        assert intruder.alive()
        assert tampered.alive()
        # Encrypted links say nothing about plain TCP; the plain agent/collector pairs elsewhere warn.
        assert "plain TCP" not in stack.collector.output()
        assert "plain TCP" not in good.output()
    finally:
        for p in (good, intruder, tampered):
            p.stop()
        proxy.stop()
