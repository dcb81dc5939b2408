"""The stream's description: a JSON Schema per event type (current with the event classes),
every event class yields a CloudEvent valid against it, and AsyncAPI 3.0 lists them all."""

import dataclasses
import json
import typing
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, ValidationError

from events import cloudevents
from events.schemagen import (
    ASYNCAPI_FILE,
    SCHEMA_DIR,
    event_classes,
    event_schema,
    load_schema,
    render,
    render_asyncapi,
)
from services.actor import Actor
from services.messages import DomainEvent
from services.outbox.writer import outbox_row
from tests.support.stream import assert_valid_cloudevent

CONTRACT_TYPES = {
    "case.opened", "case.updated", "case.closed", "consent.granted", "consent.revoked",
    "content.registered", "content.sighted", "content.removed", "content.reupload_detected",
    "referral.requested", "referral.status_changed", "referral.update_added",
    "referral.overdue", "service.recorded",
}  # fmt: skip


def sample(hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is not None and type(None) in typing.get_args(hint):
        return sample(next(a for a in typing.get_args(hint) if a is not type(None)))
    if origin in (tuple, list):
        return (sample(typing.get_args(hint)[0]),)
    return {str: "x-1", bool: True, int: 3, datetime: datetime(2026, 1, 2, tzinfo=UTC)}[hint]


def build(cls: type[DomainEvent]) -> DomainEvent:
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: sample(hints[f.name]) for f in dataclasses.fields(cls)})


def test_every_contract_event_type_has_a_class_and_a_schema() -> None:
    classes = event_classes()
    assert set(classes) >= CONTRACT_TYPES
    assert {p.stem for p in SCHEMA_DIR.glob("*.json")} == set(classes)


@pytest.mark.parametrize("event_type", sorted(event_classes()))
def test_schema_file_is_current_with_its_event_class(event_type: str) -> None:
    cls = event_classes()[event_type]
    on_disk = (SCHEMA_DIR / f"{event_type}.json").read_text()
    assert on_disk == render(event_schema(cls)), "run `python -m events.schemagen`"
    Draft202012Validator.check_schema(load_schema(event_type))


@pytest.mark.parametrize("event_type", sorted(event_classes()))
def test_every_event_class_yields_a_valid_cloudevent(event_type: str) -> None:
    event = build(event_classes()[event_type])
    row = outbox_row(event, datetime.now(UTC), Actor("org-1", "police", "client-1"), "req-1")
    assert_valid_cloudevent(cloudevents.encode(row))
    decoded = cloudevents.decode(cloudevents.encode(row))
    assert decoded.type == event_type
    assert decoded.data == json.loads(row.data)


def test_a_cloudevent_with_an_unknown_field_is_invalid() -> None:
    event = build(event_classes()["case.opened"])
    row = outbox_row(event, datetime.now(UTC), Actor("org-1", "police", "client-1"))
    payload = json.loads(cloudevents.encode(row))
    payload["data"]["victim_name"] = "Jane"
    with pytest.raises(ValidationError, match="victim_name"):
        assert_valid_cloudevent(json.dumps(payload).encode())


def test_asyncapi_is_3_0_current_and_lists_every_type() -> None:
    assert ASYNCAPI_FILE.read_text() == render_asyncapi(), "run `python -m events.schemagen`"
    document = yaml.safe_load(ASYNCAPI_FILE.read_text())
    assert document["asyncapi"] == "3.0.0"
    names = {m["name"] for m in document["components"]["messages"].values()}
    assert {f"org.coordination.{t}" for t in CONTRACT_TYPES} <= names
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == {
        "coordination.events",
        "coordination.audit",
        "coordination.notifications",
        "coordination.deadletter",
    }
