"""The DevicePoll JSON is a documented contract (README, "fleetwatch poll --json"): pin its shape."""

import json

from agent.wire import (
    Ack,
    AckStatus,
    Batch,
    Device,
    DevicePoll,
    Supply,
    SupplyState,
    Tray,
    decode_ack,
    decode_batch,
    encode_ack,
    encode_batch,
    poll_to_json,
)

DEVICE_KEYS = {
    "address", "port", "sys_name", "sys_descr", "sys_object_id", "sys_location", "sys_contact",
    "vendor", "model", "serial", "firmware", "kind", "uptime_s",
}  # fmt: skip
SUPPLY_KEYS = {
    "index", "description", "part_number", "type", "class", "color", "unit", "capacity", "level", "percent", "state",
}  # fmt: skip
TRAY_KEYS = {"index", "name", "capacity", "level", "percent", "state"}
TOP_KEYS = {"device", "supplies", "trays", "counters", "printer_status", "interfaces", "sensors", "errors"}


def _poll() -> DevicePoll:
    return DevicePoll(
        device_id="p1",
        ts=1.5,
        device=Device(address="127.0.0.1"),
        supplies=[
            Supply(index="1.1", description="Black", type="toner", supply_class="consumed", capacity=100, level=-3,
                   state=SupplyState.some_remaining),
            Supply(index="1.2", description="Waste", type="waste_toner", supply_class="receptacle", capacity=100,
                   level=35, percent=65.0, state=SupplyState.ok),
        ],
        trays=[Tray(index="1.1", name="Tray 1", capacity=250, level=-2)],
    )  # fmt: skip


def test_poll_json_has_the_documented_fields():
    doc = json.loads(poll_to_json(_poll()))
    assert set(doc) >= TOP_KEYS
    assert set(doc["device"]) >= DEVICE_KEYS
    for s in doc["supplies"]:
        assert set(s) >= SUPPLY_KEYS
    assert set(doc["trays"][0]) >= TRAY_KEYS
    assert "total_pages" in doc["counters"]
    assert doc["supplies"][0]["class"] == "consumed"  # "class" on the wire, not the Python field name
    assert doc["supplies"][0]["percent"] is None
    assert doc["supplies"][0]["state"] == "some_remaining"
    assert doc["supplies"][0]["level"] == -3  # raw value kept
    assert doc["trays"][0]["state"] == "unknown"


def test_poll_json_round_trips_through_the_wire():
    batch = Batch(batch_id="b", agent_id="a", sent_at=2.0, polls=[_poll()])
    back = decode_batch(encode_batch(batch))
    assert back == batch
    assert back.polls[0].supplies[1].supply_class == "receptacle"


def test_unknown_fields_from_a_newer_agent_are_ignored():
    doc = json.loads(poll_to_json(_poll()))
    doc["something_new"] = {"x": 1}
    doc["device"]["new_identity_field"] = "y"
    assert DevicePoll.model_validate(doc).device_id == "p1"


def test_ack_round_trip():
    ack = Ack(batch_id="b", status=AckStatus.duplicate)
    assert decode_ack(encode_ack(ack)) == ack
