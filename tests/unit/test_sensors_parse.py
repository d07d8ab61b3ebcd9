"""Sensor parsing (agent/probes/sensors.py + sensors_vendor.py): rows -> Sensor, no sockets."""

from __future__ import annotations

import pytest

from agent.fetch import Fetched
from agent.probes import sensors as m
from agent.probes import sensors_vendor as v
from agent.probes.base import Detection
from agent.wire import Device, DevicePoll, Sensor


def fetched(scalars: dict[str, object] | None = None, columns: dict[str, dict[str, object]] | None = None) -> Fetched:
    return Fetched(scalars=dict(scalars or {}), columns=dict(columns or {}))  # type: ignore[arg-type]


def by_index(sensors: tuple[Sensor, ...] | list[Sensor], kind: str | None = None) -> dict[str, Sensor]:
    return {s.index or "": s for s in sensors if kind is None or s.kind == kind}


def entity_rows(root: str, idx: str, type_: object, scale: object, prec: object, value: object, oper: object = 1):
    return {
        f"{root}.1": {idx: type_},
        f"{root}.2": {idx: scale},
        f"{root}.3": {idx: prec},
        f"{root}.4": {idx: value},
        f"{root}.5": {idx: oper},
    }


@pytest.mark.parametrize(
    ("type_", "scale", "prec", "raw", "kind", "unit", "value"),
    [
        pytest.param(8, 9, 0, 20, "temperature", "celsius", 20.0, id="procurve-units"),
        pytest.param(8, 8, 0, 27375, "temperature", "celsius", 27.375, id="arubaos-cx-milli-scale"),
        pytest.param(8, 9, 1, 346, "temperature", "celsius", 34.6, id="precision-1"),
        pytest.param(4, 8, 0, 3300, "voltage", "volt", 3.3, id="millivolts"),
        pytest.param(10, 9, 0, 4136, "fan", "rpm", 4136.0, id="fan-rpm"),
        pytest.param(6, 10, 2, 150, "power", "watt", 1500.0, id="kilo-scale-with-precision"),
        pytest.param(8, 99, 0, 20, "temperature", "celsius", 20.0, id="garbage-scale-as-units"),
    ],
)
def test_entity_sensor_scaling(type_: int, scale: int, prec: int, raw: int, kind: str, unit: str, value: float) -> None:
    f = fetched(columns={**entity_rows(m.ENT_SENSOR, "7", type_, scale, prec, raw), m.ENT_PHYSICAL_NAME: {"7": b"X"}})
    (s,) = m.parse(f).sensors
    assert (s.kind, s.unit, s.value, s.name, s.index, s.status) == (kind, unit, value, "X", "entity.7", "ok")


def test_entity_sensor_unavailable_has_no_value() -> None:
    f = fetched(columns=entity_rows(m.ENT_SENSOR, "3", 8, 9, 0, 0, oper=2))
    (s,) = m.parse(f).sensors
    assert s.value is None
    assert s.status == "unavailable"
    assert s.name == "Sensor 3"


def test_entity_other_type_containers_are_dropped() -> None:
    # procurve: empty bays/pseudocontainers are entPhySensorType other(1) reading 0.
    f = fetched(columns=entity_rows(m.ENT_SENSOR, "5", 1, 9, 0, 0))
    assert m.parse(f).sensors == ()


def test_entity_name_falls_back_to_descr() -> None:
    f = fetched(columns={**entity_rows(m.ENT_SENSOR, "9", 8, 9, 0, 30), m.ENT_PHYSICAL_DESCR: {"9": b"Inlet"}})
    assert m.parse(f).sensors[0].name == "Inlet"


def test_cisco_entity_sensor_dbm() -> None:
    # ios_2960x: SFP transmit power, type 14 (dBm), precision 1.
    f = fetched(columns=entity_rows(m.CISCO_ENT_SENSOR, "1066", 14, 9, 1, -50))
    (s,) = m.parse(f).sensors
    assert (s.kind, s.unit, s.value, s.index) == ("dbm", "dbm", -5.0, "cisco_entity.1066")


def test_cisco_envmon() -> None:
    f = fetched(
        columns={
            v.ENVMON_TEMP_DESCR: {"1008": b"SW#1, Sensor#1, GREEN"},
            v.ENVMON_TEMP_VALUE: {"1008": 44},
            v.ENVMON_TEMP_STATE: {"1008": 1},
            v.ENVMON_FAN_DESCR: {"1007": b"Switch#1, Fan#1"},
            v.ENVMON_FAN_STATE: {"1007": 3},
            v.ENVMON_PSU_DESCR: {"1006": b"Sw1, PS1"},
            v.ENVMON_PSU_STATE: {"1006": 5},
        }
    )
    out = by_index(m.parse(f).sensors)
    assert out["cisco_envmon.1008"].value == 44.0
    assert out["cisco_envmon.1008"].status == "ok"
    assert out["cisco_envmon_fan.1007"].status == "critical"
    assert out["cisco_envmon_psu.1006"].status == "not_present"


def test_hp_power_supply_transceiver_fan() -> None:
    f = fetched(
        columns={
            v.HP_PS_STATE: {"1": 3, "2": 1},
            v.HP_PS_TEMP: {"1": 27, "2": 0},
            v.HP_PS_WATTS: {"1": 48, "2": 0},
            v.HP_FAN_STATE: {"1": 5, "2": 0},
            v.HP_XCVR_PORT: {"49": b"49"},
            v.HP_XCVR_TEMP: {"49": 45398},
            v.HP_XCVR_RX: {"49": -3763},
            v.HP_XCVR_BIAS: {"49": 8850},
        }
    )
    s = m.parse(f).sensors
    temps = by_index(s, "temperature")
    assert temps["hp_ps.1"].value == 27.0
    assert "hp_ps.2" not in temps  # empty bay
    assert temps["hp_xcvr.49"].value == 45.398
    assert by_index(s, "dbm")["hp_xcvr.49"].value == -3.763
    assert by_index(s, "current")["hp_xcvr.49"].value == 0.00885
    assert by_index(s, "power")["hp_ps.1"].value == 48.0
    states = by_index(s, "state")
    assert states["hp_fan.1"].status == "ok"
    assert states["hp_fan.2"].status == "failed"


def test_juniper_zero_means_no_sensor() -> None:
    # junos_vmx: a virtual router reports jnxOperatingTemp 0 for every component.
    f = fetched(
        columns={
            v.JNX_DESCR: {"9.1.0.0": b"Routing Engine 0", "7.1.0.0": b"FPC"},
            v.JNX_STATE: {"9.1.0.0": 2, "7.1.0.0": 2},
            v.JNX_TEMP: {"9.1.0.0": 41, "7.1.0.0": 0},
        }
    )
    (s,) = m.parse(f).sensors
    assert (s.name, s.value, s.status, s.index) == ("Routing Engine 0", 41.0, "ok", "jnx.9.1.0.0")


def test_synology_system_disks_raid() -> None:
    f = fetched(
        scalars={v.SYNO_TEMPERATURE: 48, v.SYNO_SYSTEM_STATUS: 1, v.SYNO_POWER_STATUS: 2},
        columns={
            v.SYNO_DISK_ID: {"0": b"Disk 1"},
            v.SYNO_DISK_MODEL: {"0": b"ST3320620NS         "},
            v.SYNO_DISK_STATUS: {"0": 2},
            v.SYNO_DISK_TEMP: {"0": 42},
            v.SYNO_RAID_NAME: {"0": b"Volume 1"},
            v.SYNO_RAID_STATUS: {"0": 11},
        },
    )
    s = m.parse(f).sensors
    temps = by_index(s, "temperature")
    assert temps["syno.0"].value == 48.0
    assert temps["syno_disk.0"].name == "Disk 1 ST3320620NS"
    assert temps["syno_disk.0"].status == "initialized"
    states = by_index(s, "state")
    assert states["syno.power"].status == "failed"
    assert states["syno_raid.0"].status == "degrade"


def test_apc_high_precision_preferred_and_uio_probe() -> None:
    f = fetched(
        scalars={
            v.APC_HP_CAPACITY: 1000,
            v.APC_BATT_CAPACITY: 99,
            v.APC_HP_BATT_TEMP: 234,
            v.APC_RUNTIME: 10976200,
            v.APC_REPLACE: 2,
            v.APC_OUT_STATUS: 3,
            v.APC_OUT_LOAD: 37,
        },
        columns={
            v.APC_UIO_NAME: {"1.1": b"Equipment Room"},
            v.APC_UIO_TEMP: {"1.1": 20},
            v.APC_UIO_HUMIDITY: {"1.1": -1},
        },
    )
    s = by_index(m.parse(f).sensors)
    assert s["apc.charge"].value == 100.0
    assert s["apc.battery_temp"].value == 23.4
    assert s["apc.runtime"].value == 109762.0  # TimeTicks -> seconds
    assert s["apc.output_load"].value == 37.0  # no high-precision load: whole percent
    assert s["apc.battery_replace"].status == "replace_battery"
    assert s["apc.output_status"].status == "on_battery"
    assert s["apc_uio.1.1"].value == 20.0
    assert all(x.kind != "humidity" for x in m.parse(f).sensors)  # -1: no humidity probe


def test_ups_mib() -> None:
    f = fetched(
        scalars={
            m.UPS_BATTERY_STATUS: 3,
            m.UPS_MINUTES_REMAINING: 12,
            m.UPS_CHARGE_REMAINING: 40,
            m.UPS_BATTERY_VOLTAGE: 272,
            m.UPS_BATTERY_TEMPERATURE: 31,
            m.UPS_OUTPUT_SOURCE: 5,
        },
        columns={m.UPS_OUTPUT_LOAD: {"1": 55}},
    )
    s = by_index(m.parse(f).sensors)
    assert s["ups.charge"].value == 40.0
    assert s["ups.charge"].status == "low"
    assert s["ups.runtime"].value == 720.0
    assert s["ups.battery_volt"].value == 27.2
    assert s["ups.battery_temp"].value == 31.0
    assert s["ups.output.1"].value == 55.0
    assert s["ups.output_source"].status == "battery"


def test_lm_sensors() -> None:
    f = fetched(
        columns={
            m.LM_TEMP_DEVICE: {"1": b"Core 0"},
            m.LM_TEMP_VALUE: {"1": 45500},
            m.LM_FAN_DEVICE: {"1": b"fan1"},
            m.LM_FAN_VALUE: {"1": 1200},
            m.LM_VOLT_DEVICE: {"1": b"in0"},
            m.LM_VOLT_VALUE: {"1": 1224},
        }
    )
    s = m.parse(f).sensors
    assert by_index(s, "temperature")["lm_temp.1"].value == 45.5
    assert by_index(s, "fan")["lm_fan.1"].value == 1200.0
    assert by_index(s, "voltage")["lm_volt.1"].value == 1.224


def test_lsi_megaraid_bbu_text_temperature() -> None:
    # linux_lsi: bbuTable temperature is text, "33 (Normal)".
    f = fetched(columns={v.LSI_BBU_TEMP: {"0": b"33 (Normal)", "1": b"N/A"}, v.LSI_PD_TEMP: {"4": 40}})
    s = by_index(m.parse(f).sensors)
    assert (s["lsi_bbu.0"].value, s["lsi_bbu.0"].status) == (33.0, "ok")
    assert "lsi_bbu.1" not in s
    assert s["lsi_pd.4"].value == 40.0


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(b"\xff\xfe", id="binary"),
        pytest.param("1.3.6.1", id="oid-text"),
        pytest.param(None, id="no-such-instance"),
        pytest.param(b"", id="empty"),
    ],
)
def test_garbage_in_every_column_never_raises(garbage: object) -> None:
    f = fetched(
        scalars=dict.fromkeys(m.FETCH.scalars, garbage),
        columns={c: {"1": garbage, "x.y": garbage} for c in m.FETCH.columns},
    )
    section = m.parse(f)
    assert section.problems == ()
    assert all(s.value is None or isinstance(s.value, float) for s in section.sensors)


def test_a_reader_that_fails_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    # The only way to make a reader raise on purpose: a fault injected into one reader.
    def broken(_f: Fetched) -> list[Sensor]:
        raise ValueError("boom")

    readers = tuple(
        r if r.tag != "lsi" else v.Reader("lsi", r.roots, r.scalars, r.columns, broken) for r in m.ALL_READERS
    )
    monkeypatch.setattr(m, "ALL_READERS", readers)
    f = fetched(scalars={v.SYNO_TEMPERATURE: 40})
    section = m.parse(f)
    assert [s.index for s in section.sensors] == ["syno.0"]
    assert section.problems == ("lsi: ValueError: boom",)
    poll = DevicePoll(device_id="nas", ts=0, device=Device(address="127.0.0.1"))
    m.apply(section, poll)
    assert poll.sensors[0].value == 40.0
    assert poll.errors[0].probe == "sensors"


def test_detect_any_table() -> None:
    assert m.detect(Detection(present=frozenset({v.SYNO_DISK})))
    assert m.detect(Detection(present=frozenset({m.ENT_SENSOR})))
    assert not m.detect(Detection(present=frozenset({"1.3.6.1.2.1.43"})))
