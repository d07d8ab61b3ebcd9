"""Environment sensors: temperatures, fans, power supplies, voltages, UPS batteries.

Standard MIBs live here (ENTITY-SENSOR-MIB, UPS-MIB, LM-SENSORS-MIB, and
CISCO-ENTITY-SENSOR-MIB which has the ENTITY-SENSOR shape); vendor tables are
in ``agent.probes.sensors_vendor``. One probe for all of them: a device
answers a few of these tables, and the FETCH walk retires every column the
device does not have after one GETBULK.

Values are converted to plain units (celsius, volt, ampere, watt, rpm,
percent, second, dbm); ``status`` is the device's verdict where it gives one.
A reader that trips over a device's data is reported in the section's
``problems`` (and so in ``errors[]``), the other readers still count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.fetch import Fetched, FetchSpec
from agent.probes.base import Detection, integer, text
from agent.probes.sensors_vendor import READERS, Reader, number, scaled
from agent.wire import DevicePoll, ProbeError, Sensor

NAME = "sensors"

ENT_PHYSICAL_DESCR = "1.3.6.1.2.1.47.1.1.1.1.2"  # ENTITY-MIB::entPhysicalDescr
ENT_PHYSICAL_NAME = "1.3.6.1.2.1.47.1.1.1.1.7"  # ENTITY-MIB::entPhysicalName

ENT_SENSOR = "1.3.6.1.2.1.99.1.1.1"  # ENTITY-SENSOR-MIB::entPhySensorEntry
CISCO_ENT_SENSOR = "1.3.6.1.4.1.9.9.91.1.1.1.1"  # CISCO-ENTITY-SENSOR-MIB::entSensorValueEntry
# Column numbers shared by both: 1 type, 2 scale, 3 precision, 4 value, 5 oper status.

UPS = "1.3.6.1.2.1.33.1"  # UPS-MIB::upsObjects
UPS_BATTERY_STATUS = f"{UPS}.2.1.0"  # upsBatteryStatus
UPS_MINUTES_REMAINING = f"{UPS}.2.3.0"  # upsEstimatedMinutesRemaining
UPS_CHARGE_REMAINING = f"{UPS}.2.4.0"  # upsEstimatedChargeRemaining (percent)
UPS_BATTERY_VOLTAGE = f"{UPS}.2.5.0"  # upsBatteryVoltage (1/10 volt)
UPS_BATTERY_TEMPERATURE = f"{UPS}.2.7.0"  # upsBatteryTemperature (celsius)
UPS_INPUT_VOLTAGE = f"{UPS}.3.3.1.3"  # upsInputVoltage (column, per input line)
UPS_OUTPUT_SOURCE = f"{UPS}.4.1.0"  # upsOutputSource
UPS_OUTPUT_LOAD = f"{UPS}.4.4.1.5"  # upsOutputPercentLoad (column, per output line)
UPS_BATTERY_STATES = {1: "unknown", 2: "ok", 3: "low", 4: "depleted"}
UPS_OUTPUT_SOURCES = {1: "other", 2: "none", 3: "ok", 4: "bypass", 5: "battery", 6: "booster", 7: "reducer"}

LM_SENSORS = "1.3.6.1.4.1.2021.13.16"  # LM-SENSORS-MIB::lmSensors
LM_TEMP_DEVICE = f"{LM_SENSORS}.2.1.2"  # lmTempSensorsDevice
LM_TEMP_VALUE = f"{LM_SENSORS}.2.1.3"  # lmTempSensorsValue (1/1000 celsius)
LM_FAN_DEVICE = f"{LM_SENSORS}.3.1.2"  # lmFanSensorsDevice
LM_FAN_VALUE = f"{LM_SENSORS}.3.1.3"  # lmFanSensorsValue (rpm)
LM_VOLT_DEVICE = f"{LM_SENSORS}.4.1.2"  # lmVoltSensorsDevice
LM_VOLT_VALUE = f"{LM_SENSORS}.4.1.3"  # lmVoltSensorsValue (1/1000 volt)

#: entPhySensorType / entSensorType -> (kind, unit)
SENSOR_TYPES: dict[int, tuple[str, str | None]] = {
    1: ("other", None),
    2: ("other", None),
    3: ("voltage", "volt"),  # voltsAC
    4: ("voltage", "volt"),  # voltsDC
    5: ("current", "ampere"),
    6: ("power", "watt"),
    7: ("frequency", "hertz"),
    8: ("temperature", "celsius"),
    9: ("humidity", "percent"),
    10: ("fan", "rpm"),
    11: ("airflow", "cmm"),
    12: ("state", None),  # truthvalue: 1 true, 2 false
    13: ("state", None),  # Cisco specialEnum
    14: ("dbm", "dbm"),  # Cisco only
}
SENSOR_STATUS = {1: "ok", 2: "unavailable", 3: "nonoperational"}


def _entity_like(f: Fetched, root: str, tag: str) -> list[Sensor]:
    names = f.column(ENT_PHYSICAL_NAME)
    descrs = f.column(ENT_PHYSICAL_DESCR)
    cols = {"type": f"{root}.1", "scale": f"{root}.2", "prec": f"{root}.3", "value": f"{root}.4", "oper": f"{root}.5"}
    out: list[Sensor] = []
    for idx, row in sorted(f.table(cols).items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else -1):
        raw = integer(row.get("value"))
        type_n = integer(row.get("type"))
        if raw is None or type_n is None:
            continue
        if type_n in (1, 2):
            continue  # other/unknown: procurve lists every empty bay/container this way, reading 0
        kind, unit = SENSOR_TYPES.get(type_n, ("other", None))
        scale = integer(row.get("scale"))
        prec = integer(row.get("prec")) or 0
        exponent = 3 * ((scale if scale is not None and 1 <= scale <= 17 else 9) - 9) - (prec if -8 <= prec <= 9 else 0)
        status = SENSOR_STATUS.get(integer(row.get("oper")) or 0)
        value: float | None = round(raw * 10.0**exponent, 6)
        if status in ("unavailable", "nonoperational"):
            value = None  # the reading is not a measurement
        name = text(names.get(idx)) or text(descrs.get(idx)) or f"Sensor {idx}"
        out.append(Sensor(kind=kind, name=name, value=value, unit=unit, status=status, index=f"{tag}.{idx}"))
    return out


def _entity(f: Fetched) -> list[Sensor]:
    # Seen on procurve (Aruba 3810M) and arubaos-cx_10.07 (scale milli: 27375 -> 27.375 C).
    return _entity_like(f, ENT_SENSOR, "entity")


def _cisco_entity(f: Fetched) -> list[Sensor]:
    # Seen on ios_2960x: SFP module temperature/voltage/bias/power (346, precision 1 -> 34.6 C).
    return _entity_like(f, CISCO_ENT_SENSOR, "cisco_entity")


def _ups_mib(f: Fetched) -> list[Sensor]:
    out: list[Sensor] = []
    batt = UPS_BATTERY_STATES.get(integer(f.scalar(UPS_BATTERY_STATUS)) or 0)

    def add(kind: str, name: str, value: float | None, unit: str | None, idx: str, status: str | None = None) -> None:
        if value is not None:
            out.append(Sensor(kind=kind, name=name, value=value, unit=unit, status=status, index=f"ups.{idx}"))

    add("battery_charge", "Battery Charge", number(f.scalar(UPS_CHARGE_REMAINING)), "percent", "charge", batt)
    minutes = number(f.scalar(UPS_MINUTES_REMAINING))
    add("runtime", "Runtime", None if minutes is None else minutes * 60, "second", "runtime", batt)
    add("voltage", "Battery Voltage", scaled(f.scalar(UPS_BATTERY_VOLTAGE), 10), "volt", "battery_volt")
    add("temperature", "Battery Temperature", number(f.scalar(UPS_BATTERY_TEMPERATURE)), "celsius", "battery_temp")
    for idx, v in sorted(f.column(UPS_INPUT_VOLTAGE).items()):
        add("voltage", f"Input {idx}", number(v), "volt", f"input.{idx}")
    for idx, v in sorted(f.column(UPS_OUTPUT_LOAD).items()):
        add("load", f"Output {idx} Load", number(v), "percent", f"output.{idx}")
    for idx, oid, name, names in (
        ("battery_status", UPS_BATTERY_STATUS, "Battery Status", UPS_BATTERY_STATES),
        ("output_source", UPS_OUTPUT_SOURCE, "Output Source", UPS_OUTPUT_SOURCES),
    ):
        code = integer(f.scalar(oid))
        if code is not None:
            status = names.get(code, str(code))
            out.append(Sensor(kind="state", name=name, value=float(code), status=status, index=f"ups.{idx}"))
    return out


def _lm_sensors(f: Fetched) -> list[Sensor]:
    out: list[Sensor] = []
    for tag, dev, val, kind, unit, div in (
        ("lm_temp", LM_TEMP_DEVICE, LM_TEMP_VALUE, "temperature", "celsius", 1000),
        ("lm_fan", LM_FAN_DEVICE, LM_FAN_VALUE, "fan", "rpm", 1),
        ("lm_volt", LM_VOLT_DEVICE, LM_VOLT_VALUE, "voltage", "volt", 1000),
    ):
        for idx, row in sorted(f.table({"d": dev, "v": val}).items()):
            value = scaled(row.get("v"), div)
            if value is None:
                continue
            out.append(
                Sensor(
                    kind=kind, name=text(row.get("d")) or f"{kind} {idx}", value=value, unit=unit, index=f"{tag}.{idx}"
                )
            )
    return out


STANDARD_READERS: tuple[Reader, ...] = (
    Reader(
        "entity",
        (ENT_SENSOR,),
        (),
        (*(f"{ENT_SENSOR}.{c}" for c in range(1, 6)), ENT_PHYSICAL_NAME, ENT_PHYSICAL_DESCR),
        _entity,
    ),
    Reader(
        "cisco_entity",
        (CISCO_ENT_SENSOR,),
        (),
        (*(f"{CISCO_ENT_SENSOR}.{c}" for c in range(1, 6)), ENT_PHYSICAL_NAME, ENT_PHYSICAL_DESCR),
        _cisco_entity,
    ),
    Reader(
        "ups",
        (UPS,),
        (
            UPS_BATTERY_STATUS,
            UPS_MINUTES_REMAINING,
            UPS_CHARGE_REMAINING,
            UPS_BATTERY_VOLTAGE,
            UPS_BATTERY_TEMPERATURE,
            UPS_OUTPUT_SOURCE,
        ),
        (UPS_INPUT_VOLTAGE, UPS_OUTPUT_LOAD),
        _ups_mib,
    ),
    Reader(
        "lm",
        (LM_SENSORS,),
        (),
        (LM_TEMP_DEVICE, LM_TEMP_VALUE, LM_FAN_DEVICE, LM_FAN_VALUE, LM_VOLT_DEVICE, LM_VOLT_VALUE),
        _lm_sensors,
    ),
)

ALL_READERS: tuple[Reader, ...] = STANDARD_READERS + READERS

DETECT_ROOTS: tuple[str, ...] = tuple(dict.fromkeys(r for reader in ALL_READERS for r in reader.roots))

FETCH: FetchSpec = sum((FetchSpec(r.scalars, r.columns) for r in ALL_READERS), FetchSpec())


@dataclass(frozen=True)
class SensorSection:
    sensors: tuple[Sensor, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)


def detect(d: Detection) -> bool:
    return any(d.has(r) for r in DETECT_ROOTS)


def parse(f: Fetched) -> SensorSection:
    sensors: list[Sensor] = []
    problems: list[str] = []
    for reader in ALL_READERS:
        try:
            sensors.extend(reader.read(f))
        except Exception as exc:  # noqa: BLE001 - a device's odd data must cost one table, not the poll
            problems.append(f"{reader.tag}: {type(exc).__name__}: {exc}")
    return SensorSection(tuple(sensors), tuple(problems))


def apply(section: SensorSection, poll: DevicePoll) -> None:
    poll.sensors = list(section.sensors)
    poll.errors.extend(ProbeError(probe=NAME, message=p) for p in section.problems)
