"""Disk health from sysfs (agent.probes.local_host.disk_health) on fake sysfs trees, and on this host."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.probes import local_host
from agent.probes.local_host import disk_health
from collector.series import flatten


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content + "\n")
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"block/sda/device/state": "running", "block/sda/device/ioerr_cnt": "0x0"},
            [("sda", 0, "ok")],
            id="scsi-healthy",
        ),
        pytest.param(
            {"block/sdb/device/state": "running", "block/sdb/device/ioerr_cnt": "0x1a"},
            [("sdb", 26, "warning")],
            id="scsi-ioerr-hex",
        ),
        pytest.param(
            {"block/sdc/device/state": "offline", "block/sdc/device/ioerr_cnt": "0x3"},
            [("sdc", 3, "critical")],
            id="scsi-offline",
        ),
        pytest.param({"block/sdd/device/state": "blocked"}, [("sdd", None, "warning")], id="scsi-blocked-transient"),
        pytest.param({"block/md0/md/degraded": "1"}, [("md0", 1, "critical")], id="md-raid-degraded"),
        pytest.param({"block/md1/md/degraded": "0"}, [("md1", 0, "ok")], id="md-raid-clean"),
        pytest.param({"class/nvme/nvme0/state": "live"}, [("nvme0", None, "ok")], id="nvme-live"),
        pytest.param({"class/nvme/nvme1/state": "resetting"}, [("nvme1", None, "warning")], id="nvme-resetting"),
        pytest.param({"class/nvme/nvme2/state": "dead"}, [("nvme2", None, "critical")], id="nvme-dead"),
        # loop and zram devices expose none of these files: nothing to report, nothing invented.
        pytest.param({"block/loop0/size": "0", "block/vda/device/vendor": "0x1af4"}, [], id="virtio-no-state"),
        pytest.param({"block/sde/device/ioerr_cnt": "garbage"}, [], id="unparsable-count-ignored"),
    ],
)
def test_disk_health_from_fake_sysfs(tmp_path: Path, files: dict[str, str], expected: list[tuple]) -> None:
    sensors = disk_health(_tree(tmp_path, files))
    assert [(s.name, s.value, s.status) for s in sensors] == expected
    assert all(s.kind == "disk_health" for s in sensors)


def test_no_sysfs_at_all(tmp_path: Path) -> None:
    assert disk_health(tmp_path / "missing") == []


def test_disk_health_becomes_sensor_series(tmp_path: Path) -> None:
    """The rule in rules/hosts.yaml matches on sensor_status{kind="disk_health"}."""
    root = _tree(tmp_path, {"block/md0/md/degraded": "1"})
    poll = local_host.collect("h1")
    poll.sensors = disk_health(root)
    readings = {(r.metric, dict(r.labels).get("kind"), r.value) for r in flatten(poll)}
    assert ("sensor_status", "disk_health", "critical") in readings
    assert ("sensor_value", "disk_health", 1.0) in readings


def test_real_host_call_does_not_fail() -> None:
    sensors = disk_health()
    assert all(s.status in {"ok", "warning", "critical"} for s in sensors)
    poll = local_host.collect("h1")
    assert not [e for e in poll.errors if e.probe == "local_host.disk_health"]
