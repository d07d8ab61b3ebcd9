"""Vendor sensor tables, one ``Reader`` each: temperatures, fans, power supplies, UPS batteries.

Each reader names the device of the corpus it was written against. Readers
are pure (``Fetched`` -> sensors); ``agent.probes.sensors`` combines them with
the standard MIBs into one probe. Sensor ``index`` is ``<reader tag>.<row>``
so indexes stay unique when a device answers several tables.

Status text: the device's own state name in snake_case, except that the
state meaning "all good" is always ``ok`` so rules need one word for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from agent.fetch import Fetched
from agent.probes.base import integer, text
from agent.wire import Sensor


@dataclass(frozen=True)
class Reader:
    tag: str
    roots: tuple[str, ...]  # DETECT_ROOTS: presence of any means the device has this table
    scalars: tuple[str, ...]
    columns: tuple[str, ...]
    read: Callable[[Fetched], list[Sensor]]


def number(value: object) -> float | None:
    """Integer or numeric text ("33 (Normal)" -> 33.0); anything else None."""
    n = integer(value)
    if n is not None:
        return float(n)
    s = text(value)
    if s is None:
        return None
    m = re.match(r"^\s*(-?\d+(?:\.\d+)?)", s)
    return float(m.group(1)) if m else None


def scaled(value: object, divisor: float) -> float | None:
    n = number(value)
    return None if n is None else round(n / divisor, 6)


def _status(code: object, names: dict[int, str]) -> str | None:
    n = integer(code)
    if n is None:
        return None
    return names.get(n, str(n))


def _state(tag: str, idx: str, name: str, code: object, names: dict[int, str]) -> Sensor | None:
    status = _status(code, names)
    if status is None:
        return None
    return Sensor(kind="state", name=name, value=number(code), status=status, index=f"{tag}.{idx}")


def _rows(f: Fetched, cols: dict[str, str]) -> list[tuple[str, dict[str, object]]]:
    return sorted(f.table(cols).items(), key=lambda kv: [int(p) if p.isdigit() else -1 for p in kv[0].split(".")])


# --- Cisco CISCO-ENVMON-MIB (seen on ios_2960x, a 3-switch Catalyst 2960-X stack) ------------------
ENVMON = "1.3.6.1.4.1.9.9.13.1"  # CISCO-ENVMON-MIB::ciscoEnvMonObjects
ENVMON_TEMP_DESCR = f"{ENVMON}.3.1.2"  # ciscoEnvMonTemperatureStatusDescr
ENVMON_TEMP_VALUE = f"{ENVMON}.3.1.3"  # ciscoEnvMonTemperatureStatusValue (celsius)
ENVMON_TEMP_STATE = f"{ENVMON}.3.1.6"  # ciscoEnvMonTemperatureState
ENVMON_FAN_DESCR = f"{ENVMON}.4.1.2"  # ciscoEnvMonFanStatusDescr
ENVMON_FAN_STATE = f"{ENVMON}.4.1.3"  # ciscoEnvMonFanState
ENVMON_PSU_DESCR = f"{ENVMON}.5.1.2"  # ciscoEnvMonSupplyStatusDescr
ENVMON_PSU_STATE = f"{ENVMON}.5.1.3"  # ciscoEnvMonSupplyState
ENVMON_STATES = {1: "ok", 2: "warning", 3: "critical", 4: "shutdown", 5: "not_present", 6: "not_functioning"}


def _cisco_envmon(f: Fetched) -> list[Sensor]:
    out: list[Sensor] = []
    for idx, row in _rows(f, {"d": ENVMON_TEMP_DESCR, "v": ENVMON_TEMP_VALUE, "s": ENVMON_TEMP_STATE}):
        name = text(row.get("d")) or f"Temperature {idx}"
        value = number(row.get("v"))
        status = _status(row.get("s"), ENVMON_STATES)
        if value is None and status is None:
            continue
        out.append(
            Sensor(
                kind="temperature", name=name, value=value, unit="celsius", status=status, index=f"cisco_envmon.{idx}"
            )
        )
    for tag, descr, state, label in (
        ("cisco_envmon_fan", ENVMON_FAN_DESCR, ENVMON_FAN_STATE, "Fan"),
        ("cisco_envmon_psu", ENVMON_PSU_DESCR, ENVMON_PSU_STATE, "Power supply"),
    ):
        for idx, row in _rows(f, {"d": descr, "s": state}):
            s = _state(tag, idx, text(row.get("d")) or f"{label} {idx}", row.get("s"), ENVMON_STATES)
            if s is not None:
                out.append(s)
    return out


CISCO_ENVMON = Reader(
    "cisco_envmon",
    (ENVMON,),
    (),
    (
        ENVMON_TEMP_DESCR,
        ENVMON_TEMP_VALUE,
        ENVMON_TEMP_STATE,
        ENVMON_FAN_DESCR,
        ENVMON_FAN_STATE,
        ENVMON_PSU_DESCR,
        ENVMON_PSU_STATE,
    ),
    _cisco_envmon,
)

# --- HPE/Aruba ProCurve HP-ICF MIBs (seen on procurve, an Aruba 3810M) ------------------------------
HP_PS = "1.3.6.1.4.1.11.2.14.11.5.1.55.1.1.1"  # HP-ICF-POWERSUPPLY-MIB::hpicfPsEntry
HP_PS_STATE = f"{HP_PS}.2"  # hpicfPsState
HP_PS_TEMP = f"{HP_PS}.4"  # hpicfPsTemp (celsius)
HP_PS_WATTS = f"{HP_PS}.6"  # hpicfPsWattageCur
HP_PS_STATES = {
    1: "not_present",
    2: "not_plugged",
    3: "ok",  # powered
    4: "failed",
    5: "perm_failure",
    6: "max",
    7: "aux_failure",
    8: "not_powered",
    9: "aux_not_powered",
}
HP_FAN = "1.3.6.1.4.1.11.2.14.11.5.1.54.2.1.1"  # HP-ICF-FAN-MIB::hpicfFanEntry
HP_FAN_STATE = f"{HP_FAN}.4"  # hpicfFanState
HP_FAN_STATES = {0: "failed", 1: "removed", 2: "off", 3: "underspeed", 4: "overspeed", 5: "ok", 6: "max_state"}
HP_SENSOR = "1.3.6.1.4.1.11.2.14.11.1.2.6.1"  # HP-ICF-CHASSIS::hpicfSensorEntry
HP_SENSOR_STATUS = f"{HP_SENSOR}.4"  # hpicfSensorStatus
HP_SENSOR_DESCR = f"{HP_SENSOR}.7"  # hpicfSensorDescr
HP_SENSOR_STATES = {1: "unknown", 2: "bad", 3: "warning", 4: "ok", 5: "not_present"}
HP_XCVR = "1.3.6.1.4.1.11.2.14.11.5.1.82.1.1.1.1"  # HP-ICF-TRANSCEIVER-MIB::hpicfXcvrInfoEntry
HP_XCVR_PORT = f"{HP_XCVR}.2"  # hpicfXcvrPortDesc
HP_XCVR_TEMP = f"{HP_XCVR}.11"  # hpicfXcvrTemp (1/1000 celsius)
HP_XCVR_VOLT = f"{HP_XCVR}.12"  # hpicfXcvrVoltage (1/10000 volt)
HP_XCVR_BIAS = f"{HP_XCVR}.13"  # hpicfXcvrBias (microampere)
HP_XCVR_TX = f"{HP_XCVR}.14"  # hpicfXcvrTxPower (1/1000 dBm)
HP_XCVR_RX = f"{HP_XCVR}.15"  # hpicfXcvrRcvPower (1/1000 dBm)


def _hp(f: Fetched) -> list[Sensor]:
    out: list[Sensor] = []
    for idx, row in _rows(f, {"s": HP_PS_STATE, "t": HP_PS_TEMP, "w": HP_PS_WATTS}):
        name = f"Power Supply #{idx}"
        status = _status(row.get("s"), HP_PS_STATES)
        temp = number(row.get("t"))
        if status == "not_present":
            continue  # empty PSU bay: its temperature/wattage rows are zeros
        if temp is not None:
            out.append(
                Sensor(kind="temperature", name=name, value=temp, unit="celsius", status=status, index=f"hp_ps.{idx}")
            )
        watts = number(row.get("w"))
        if watts is not None:
            out.append(Sensor(kind="power", name=name, value=watts, unit="watt", status=status, index=f"hp_ps.{idx}"))
        s = _state("hp_ps", idx, name, row.get("s"), HP_PS_STATES)
        if s is not None:
            out.append(s)
    for idx, row in _rows(f, {"s": HP_FAN_STATE}):
        s = _state("hp_fan", idx, f"Fan #{idx}", row.get("s"), HP_FAN_STATES)
        if s is not None:
            out.append(s)
    for idx, row in _rows(f, {"s": HP_SENSOR_STATUS, "d": HP_SENSOR_DESCR}):
        s = _state("hp_sensor", idx, text(row.get("d")) or f"Sensor {idx}", row.get("s"), HP_SENSOR_STATES)
        if s is not None:
            out.append(s)
    cols = {
        "p": HP_XCVR_PORT,
        "t": HP_XCVR_TEMP,
        "v": HP_XCVR_VOLT,
        "b": HP_XCVR_BIAS,
        "tx": HP_XCVR_TX,
        "rx": HP_XCVR_RX,
    }
    for idx, row in _rows(f, cols):
        port = text(row.get("p")) or idx
        for key, kind, what, unit, div in (
            ("t", "temperature", "Temperature", "celsius", 1000),
            ("v", "voltage", "Voltage", "volt", 10000),
            ("b", "current", "Bias Current", "ampere", 1_000_000),
            ("tx", "dbm", "Tx Power", "dbm", 1000),
            ("rx", "dbm", "Rx Power", "dbm", 1000),
        ):
            value = scaled(row.get(key), div)
            if value is not None:
                out.append(Sensor(kind=kind, name=f"{port} {what}", value=value, unit=unit, index=f"hp_xcvr.{idx}"))
    return out


HP_PROCURVE = Reader(
    "hp",
    (HP_PS, HP_FAN, HP_SENSOR, HP_XCVR),
    (),
    (
        HP_PS_STATE,
        HP_PS_TEMP,
        HP_PS_WATTS,
        HP_FAN_STATE,
        HP_SENSOR_STATUS,
        HP_SENSOR_DESCR,
        HP_XCVR_PORT,
        HP_XCVR_TEMP,
        HP_XCVR_VOLT,
        HP_XCVR_BIAS,
        HP_XCVR_TX,
        HP_XCVR_RX,
    ),
    _hp,
)

# --- Juniper JUNIPER-MIB jnxOperatingTable (seen on junos_vmx) ----------------------------------------
JNX_OPERATING = "1.3.6.1.4.1.2636.3.1.13.1"  # JUNIPER-MIB::jnxOperatingEntry
JNX_DESCR = f"{JNX_OPERATING}.5"  # jnxOperatingDescr
JNX_STATE = f"{JNX_OPERATING}.6"  # jnxOperatingState
JNX_TEMP = f"{JNX_OPERATING}.7"  # jnxOperatingTemp (celsius)
JNX_STATES = {1: "unknown", 2: "ok", 3: "ready", 4: "reset", 5: "running_at_full_speed", 6: "down", 7: "standby"}


def _juniper(f: Fetched) -> list[Sensor]:
    out: list[Sensor] = []
    for idx, row in _rows(f, {"d": JNX_DESCR, "s": JNX_STATE, "t": JNX_TEMP}):
        temp = number(row.get("t"))
        # junos_vmx: a virtual router reports 0 for every component: "no sensor", not 0 degrees.
        if temp is None or temp == 0:
            continue
        out.append(
            Sensor(
                kind="temperature",
                name=text(row.get("d")) or idx,
                value=temp,
                unit="celsius",
                status=_status(row.get("s"), JNX_STATES),
                index=f"jnx.{idx}",
            )
        )
    return out


JUNIPER = Reader("jnx", (JNX_OPERATING,), (), (JNX_DESCR, JNX_STATE, JNX_TEMP), _juniper)

# --- Synology SYNOLOGY-SYSTEM/DISK/RAID-MIB (seen on dsm, a DS with an RX1214rp expansion) -----------
SYNO = "1.3.6.1.4.1.6574"
SYNO_SYSTEM_STATUS = f"{SYNO}.1.1.0"  # SYNOLOGY-SYSTEM-MIB::systemStatus
SYNO_TEMPERATURE = f"{SYNO}.1.2.0"  # SYNOLOGY-SYSTEM-MIB::temperature (celsius)
SYNO_POWER_STATUS = f"{SYNO}.1.3.0"  # SYNOLOGY-SYSTEM-MIB::powerStatus
SYNO_SYSTEM_FAN = f"{SYNO}.1.4.1.0"  # SYNOLOGY-SYSTEM-MIB::systemFanStatus
SYNO_CPU_FAN = f"{SYNO}.1.4.2.0"  # SYNOLOGY-SYSTEM-MIB::cpuFanStatus
SYNO_DISK = f"{SYNO}.2.1.1"  # SYNOLOGY-DISK-MIB::diskEntry
SYNO_DISK_ID = f"{SYNO_DISK}.2"  # diskID
SYNO_DISK_MODEL = f"{SYNO_DISK}.3"  # diskModel
SYNO_DISK_STATUS = f"{SYNO_DISK}.5"  # diskStatus
SYNO_DISK_TEMP = f"{SYNO_DISK}.6"  # diskTemperature (celsius)
SYNO_RAID = f"{SYNO}.3.1.1"  # SYNOLOGY-RAID-MIB::raidEntry
SYNO_RAID_NAME = f"{SYNO_RAID}.2"  # raidName
SYNO_RAID_STATUS = f"{SYNO_RAID}.3"  # raidStatus
SYNO_OK_FAILED = {1: "ok", 2: "failed"}
SYNO_DISK_STATES = {1: "ok", 2: "initialized", 3: "not_initialized", 4: "system_partition_failed", 5: "crashed"}
SYNO_RAID_STATES = {
    1: "ok",
    2: "repairing",
    3: "migrating",
    4: "expanding",
    5: "deleting",
    6: "creating",
    7: "raid_syncing",
    8: "raid_parity_checking",
    9: "raid_assembling",
    10: "canceling",
    11: "degrade",
    12: "crashed",
    13: "data_scrubbing",
}


def _synology(f: Fetched) -> list[Sensor]:
    out: list[Sensor] = []
    temp = number(f.scalar(SYNO_TEMPERATURE))
    if temp is not None:
        status = _status(f.scalar(SYNO_SYSTEM_STATUS), SYNO_OK_FAILED)
        out.append(Sensor(kind="temperature", name="System", value=temp, unit="celsius", status=status, index="syno.0"))
    for idx, oid, name in (
        ("system", SYNO_SYSTEM_STATUS, "System"),
        ("power", SYNO_POWER_STATUS, "Power"),
        ("system_fan", SYNO_SYSTEM_FAN, "FAN - System"),
        ("cpu_fan", SYNO_CPU_FAN, "FAN - CPU"),
    ):
        s = _state("syno", idx, name, f.scalar(oid), SYNO_OK_FAILED)
        if s is not None:
            out.append(s)
    cols = {"id": SYNO_DISK_ID, "m": SYNO_DISK_MODEL, "s": SYNO_DISK_STATUS, "t": SYNO_DISK_TEMP}
    for idx, row in _rows(f, cols):
        name = " ".join(p for p in (text(row.get("id")), text(row.get("m"))) if p) or f"Disk {idx}"
        status = _status(row.get("s"), SYNO_DISK_STATES)
        temp = number(row.get("t"))
        if temp is not None:
            out.append(
                Sensor(
                    kind="temperature", name=name, value=temp, unit="celsius", status=status, index=f"syno_disk.{idx}"
                )
            )
        s = _state("syno_disk", idx, name, row.get("s"), SYNO_DISK_STATES)
        if s is not None:
            out.append(s)
    for idx, row in _rows(f, {"n": SYNO_RAID_NAME, "s": SYNO_RAID_STATUS}):
        s = _state("syno_raid", idx, text(row.get("n")) or f"RAID {idx}", row.get("s"), SYNO_RAID_STATES)
        if s is not None:
            out.append(s)
    return out


SYNOLOGY = Reader(
    "syno",
    (f"{SYNO}.1", SYNO_DISK),
    (SYNO_SYSTEM_STATUS, SYNO_TEMPERATURE, SYNO_POWER_STATUS, SYNO_SYSTEM_FAN, SYNO_CPU_FAN),
    (SYNO_DISK_ID, SYNO_DISK_MODEL, SYNO_DISK_STATUS, SYNO_DISK_TEMP, SYNO_RAID_NAME, SYNO_RAID_STATUS),
    _synology,
)

# --- APC PowerNet-MIB (seen on apc_smt750x-nmc2, a Smart-UPS X 750 with an NMC2 card) -----------------
APC_UPS = "1.3.6.1.4.1.318.1.1.1"  # PowerNet-MIB::upsObjects
APC_BATT_STATUS = f"{APC_UPS}.2.1.1.0"  # upsBasicBatteryStatus
APC_BATT_CAPACITY = f"{APC_UPS}.2.2.1.0"  # upsAdvBatteryCapacity (percent)
APC_BATT_TEMP = f"{APC_UPS}.2.2.2.0"  # upsAdvBatteryTemperature (celsius)
APC_RUNTIME = f"{APC_UPS}.2.2.3.0"  # upsAdvBatteryRunTimeRemaining (TimeTicks)
APC_REPLACE = f"{APC_UPS}.2.2.4.0"  # upsAdvBatteryReplaceIndicator
APC_HP_CAPACITY = f"{APC_UPS}.2.3.1.0"  # upsHighPrecBatteryCapacity (1/10 percent)
APC_HP_BATT_TEMP = f"{APC_UPS}.2.3.2.0"  # upsHighPrecBatteryTemperature (1/10 celsius)
APC_HP_BATT_VOLT = f"{APC_UPS}.2.3.4.0"  # upsHighPrecBatteryActualVoltage (1/10 volt)
APC_IN_VOLT = f"{APC_UPS}.3.2.1.0"  # upsAdvInputLineVoltage
APC_HP_IN_VOLT = f"{APC_UPS}.3.3.1.0"  # upsHighPrecInputLineVoltage (1/10 volt)
APC_HP_IN_FREQ = f"{APC_UPS}.3.3.4.0"  # upsHighPrecInputFrequency (1/10 hertz)
APC_OUT_STATUS = f"{APC_UPS}.4.1.1.0"  # upsBasicOutputStatus
APC_OUT_VOLT = f"{APC_UPS}.4.2.1.0"  # upsAdvOutputVoltage
APC_OUT_LOAD = f"{APC_UPS}.4.2.3.0"  # upsAdvOutputLoad (percent)
APC_HP_OUT_VOLT = f"{APC_UPS}.4.3.1.0"  # upsHighPrecOutputVoltage (1/10 volt)
APC_HP_OUT_FREQ = f"{APC_UPS}.4.3.2.0"  # upsHighPrecOutputFrequency (1/10 hertz)
APC_HP_OUT_LOAD = f"{APC_UPS}.4.3.3.0"  # upsHighPrecOutputLoad (1/10 percent)
APC_HP_OUT_CURRENT = f"{APC_UPS}.4.3.4.0"  # upsHighPrecOutputCurrent (1/10 ampere)
APC_UIO = "1.3.6.1.4.1.318.1.1.25.1.2.1"  # PowerNet-MIB::uioSensorStatusEntry (NMC2 probe port)
APC_UIO_NAME = f"{APC_UIO}.3"  # uioSensorStatusSensorName
APC_UIO_TEMP = f"{APC_UIO}.6"  # uioSensorStatusTemperatureDegC
APC_UIO_HUMIDITY = f"{APC_UIO}.7"  # uioSensorStatusHumidity (-1: no humidity sensor)
APC_UIO_ALARM = f"{APC_UIO}.9"  # uioSensorStatusAlarmStatus
APC_BATT_STATES = {1: "unknown", 2: "ok", 3: "low", 4: "fault"}
APC_REPLACE_STATES = {1: "ok", 2: "replace_battery"}
APC_OUTPUT_STATES = {
    1: "unknown",
    2: "ok",  # onLine
    3: "on_battery",
    4: "on_smart_boost",
    5: "timed_sleeping",
    6: "software_bypass",
    7: "off",
    8: "rebooting",
    9: "switched_bypass",
    10: "hardware_failure_bypass",
    11: "sleeping_until_power_return",
    12: "on_smart_trim",
    13: "eco_mode",
    14: "hot_standby",
    15: "on_battery_test",
}
APC_UIO_ALARMS = {1: "ok", 2: "warning", 3: "critical"}


def _first(f: Fetched, precise: str, precise_div: float, coarse: str) -> float | None:
    """High-precision object when the card has it (NMC2), else the whole-unit one."""
    value = scaled(f.scalar(precise), precise_div)
    return value if value is not None else number(f.scalar(coarse))


def _apc(f: Fetched) -> list[Sensor]:
    out: list[Sensor] = []
    batt = _status(f.scalar(APC_BATT_STATUS), APC_BATT_STATES)

    def add(kind: str, name: str, value: float | None, unit: str, idx: str, status: str | None = None) -> None:
        if value is not None:
            out.append(Sensor(kind=kind, name=name, value=value, unit=unit, status=status, index=f"apc.{idx}"))

    add(
        "battery_charge", "Battery Charge", _first(f, APC_HP_CAPACITY, 10, APC_BATT_CAPACITY), "percent", "charge", batt
    )
    add("temperature", "Battery Temperature", _first(f, APC_HP_BATT_TEMP, 10, APC_BATT_TEMP), "celsius", "battery_temp")
    ticks = number(f.scalar(APC_RUNTIME))
    add("runtime", "Runtime", None if ticks is None else ticks / 100, "second", "runtime", batt)
    add("voltage", "Battery Voltage", scaled(f.scalar(APC_HP_BATT_VOLT), 10), "volt", "battery_volt")
    add("voltage", "Input", _first(f, APC_HP_IN_VOLT, 10, APC_IN_VOLT), "volt", "input_volt")
    add("frequency", "Input", scaled(f.scalar(APC_HP_IN_FREQ), 10), "hertz", "input_freq")
    add("voltage", "Output", _first(f, APC_HP_OUT_VOLT, 10, APC_OUT_VOLT), "volt", "output_volt")
    add("frequency", "Output", scaled(f.scalar(APC_HP_OUT_FREQ), 10), "hertz", "output_freq")
    add("load", "Output Load", _first(f, APC_HP_OUT_LOAD, 10, APC_OUT_LOAD), "percent", "output_load")
    add("current", "Output", scaled(f.scalar(APC_HP_OUT_CURRENT), 10), "ampere", "output_current")
    for idx, oid, name, names in (
        ("battery_status", APC_BATT_STATUS, "Battery Status", APC_BATT_STATES),
        ("battery_replace", APC_REPLACE, "Battery Replacement", APC_REPLACE_STATES),
        ("output_status", APC_OUT_STATUS, "Output Status", APC_OUTPUT_STATES),
    ):
        s = _state("apc", idx, name, f.scalar(oid), names)
        if s is not None:
            out.append(s)
    cols = {"n": APC_UIO_NAME, "t": APC_UIO_TEMP, "h": APC_UIO_HUMIDITY, "a": APC_UIO_ALARM}
    for idx, row in _rows(f, cols):
        name = text(row.get("n")) or f"Probe {idx}"
        alarm = _status(row.get("a"), APC_UIO_ALARMS)
        temp = number(row.get("t"))
        if temp is not None and temp > -1:  # -1: nothing plugged into that port
            out.append(
                Sensor(kind="temperature", name=name, value=temp, unit="celsius", status=alarm, index=f"apc_uio.{idx}")
            )
        hum = number(row.get("h"))
        if hum is not None and hum >= 0:
            out.append(
                Sensor(kind="humidity", name=name, value=hum, unit="percent", status=alarm, index=f"apc_uio.{idx}")
            )
    return out


APC = Reader(
    "apc",
    (APC_UPS, "1.3.6.1.4.1.318.1.1.25"),
    (
        APC_BATT_STATUS,
        APC_BATT_CAPACITY,
        APC_BATT_TEMP,
        APC_RUNTIME,
        APC_REPLACE,
        APC_HP_CAPACITY,
        APC_HP_BATT_TEMP,
        APC_HP_BATT_VOLT,
        APC_IN_VOLT,
        APC_HP_IN_VOLT,
        APC_HP_IN_FREQ,
        APC_OUT_STATUS,
        APC_OUT_VOLT,
        APC_OUT_LOAD,
        APC_HP_OUT_VOLT,
        APC_HP_OUT_FREQ,
        APC_HP_OUT_LOAD,
        APC_HP_OUT_CURRENT,
    ),
    (APC_UIO_NAME, APC_UIO_TEMP, APC_UIO_HUMIDITY, APC_UIO_ALARM),
    _apc,
)

# --- LSI/Broadcom MegaRAID LSI-MegaRAID-SAS-MIB (seen on linux_lsi, a Linux host with 3 controllers) --
LSI = "1.3.6.1.4.1.3582.4.1.4"
# Column numbers as LibreNMS reads them on linux_lsi (controller, battery pack, physical drive).
LSI_ADAPTER_TEMP = f"{LSI}.1.2.1.42"  # adapterInfoTable: ROC (controller chip) temperature, celsius
LSI_BBU_TEMP = f"{LSI}.1.6.2.1.16"  # bbuTable: temperature as text, "33 (Normal)"
LSI_PD_TEMP = f"{LSI}.2.1.2.1.36"  # pdTable: drive temperature, celsius


def _lsi(f: Fetched) -> list[Sensor]:
    out: list[Sensor] = []
    for tag, oid, label in (
        ("lsi_adapter", LSI_ADAPTER_TEMP, "Controller"),
        ("lsi_bbu", LSI_BBU_TEMP, "BBU"),
        ("lsi_pd", LSI_PD_TEMP, "Drive"),
    ):
        for idx, value in sorted(f.column(oid).items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else -1):
            temp = number(value)
            if temp is None:
                continue
            status = None
            if tag == "lsi_bbu":  # "33 (Normal)": the battery's own verdict in brackets
                m = re.search(r"\((\w+)\)", text(value) or "")
                status = None if m is None else ("ok" if m.group(1).lower() == "normal" else m.group(1).lower())
            out.append(
                Sensor(
                    kind="temperature",
                    name=f"{label} {idx}",
                    value=temp,
                    unit="celsius",
                    status=status,
                    index=f"{tag}.{idx}",
                )
            )
    return out


LSI_MEGARAID = Reader("lsi", (LSI,), (), (LSI_ADAPTER_TEMP, LSI_BBU_TEMP, LSI_PD_TEMP), _lsi)

READERS: tuple[Reader, ...] = (CISCO_ENVMON, HP_PROCURVE, JUNIPER, SYNOLOGY, APC, LSI_MEGARAID)
