"""JSON Schemas of the stream, one per event type, generated from the domain's event classes.

    python -m events.schemagen        # rewrite events/schemas/*.json

Each file describes the whole CloudEvent (structured mode) of one type: the envelope attributes
and its `data`. A test checks the files are current and validates produced events against them.
"""

import dataclasses
import importlib
import json
import pkgutil
import types
import typing
from datetime import datetime
from pathlib import Path
from typing import Any

from services.messages import (
    EVENT_TYPE_PREFIX,
    TOPIC_AUDIT,
    TOPIC_DEADLETTER,
    TOPIC_EVENTS,
    TOPIC_NOTIFICATIONS,
    DomainEvent,
)

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
ID_URI = "https://coordination.example/events/schemas/"


def event_classes() -> dict[str, type[DomainEvent]]:
    """Every concrete DomainEvent subclass in `services/*/events.py`, by short type."""
    import services

    for info in pkgutil.iter_modules(services.__path__):
        if info.ispkg:
            try:
                importlib.import_module(f"services.{info.name}.events")
            except ModuleNotFoundError as exc:
                if exc.name != f"services.{info.name}.events":
                    raise
    found: dict[str, type[DomainEvent]] = {}
    pending: list[type[DomainEvent]] = list(DomainEvent.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "type" in cls.__dict__:
            found[cls.type] = cls
    return dict(sorted(found.items()))


def _type_schema(hint: Any) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [_type_schema(arg) for arg in typing.get_args(hint) if arg is not type(None)]
        schema = options[0] if len(options) == 1 else {"anyOf": options}
        if type(None) in typing.get_args(hint):
            return {"anyOf": [schema, {"type": "null"}]}
        return schema
    if origin in (tuple, list, frozenset, set):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return {"type": "array", "items": _type_schema(args[0]) if args else {}}
    if hint is str:
        return {"type": "string"}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is datetime:
        return {"type": "string", "format": "date-time"}
    raise TypeError(f"no JSON Schema for {hint!r}")


def data_schema(cls: type[DomainEvent]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in dataclasses.fields(cls):
        if field.name == "subject":
            continue
        properties[field.name] = _type_schema(hints[field.name])
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            required.append(field.name)
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def event_schema(cls: type[DomainEvent]) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{ID_URI}{cls.type}.json",
        "title": f"{EVENT_TYPE_PREFIX}{cls.type}",
        "description": _description(cls),
        "x-topic": cls.topic,
        "type": "object",
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "minLength": 1, "maxLength": 36},
            "source": {"const": "/coordination"},
            "type": {"const": f"{EVENT_TYPE_PREFIX}{cls.type}"},
            "time": {"type": "string", "format": "date-time"},
            "subject": {"type": "string"},
            "datacontenttype": {"const": "application/json"},
            "actororg": {"type": "string"},
            "actorclientid": {"type": "string"},
            "requestid": {"type": "string"},
            "data": data_schema(cls),
        },
        "required": [
            "specversion",
            "id",
            "source",
            "type",
            "time",
            "subject",
            "datacontenttype",
            "data",
        ],
        "additionalProperties": False,
    }


def _description(cls: type[DomainEvent]) -> str:
    doc = (cls.__doc__ or "").strip()
    if not doc or doc.startswith(cls.__name__ + "("):  # the one dataclass makes up
        return f"{EVENT_TYPE_PREFIX}{cls.type} on {cls.topic}"
    return " ".join(doc.split("\n\n")[0].split())


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2) + "\n"


def schema_path(event_type: str) -> Path:
    return SCHEMA_DIR / f"{event_type}.json"


def load_schema(event_type: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_path(event_type).read_text())
    return loaded


ASYNCAPI_FILE = Path(__file__).resolve().parent / "asyncapi.yaml"
TOPIC_DOCS = {
    TOPIC_EVENTS: "Domain events, one per committed state change. Key: the case id (one case's "
    "events stay in order).",
    TOPIC_AUDIT: "Access records: one per /v1 request, refusals included. Key: the case id the "
    "path names, else the org.",
    TOPIC_NOTIFICATIONS: "Notifications, one per recipient org and event, numbered per org "
    "(`seq`). Key: the recipient org.",
    TOPIC_DEADLETTER: "Records a consumer could not apply, as they were, with headers `consumer`, "
    "`source-topic`, `source-partition`, `source-offset` and `reason`.",
}


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the stream; message payloads are the schema files."""
    classes = event_classes()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic, doc in TOPIC_DOCS.items():
        channel_id = topic.replace(".", "_")
        channel_messages = {
            name.replace(".", "_"): {"$ref": f"#/components/messages/{name.replace('.', '_')}"}
            for name, cls in classes.items()
            if cls.topic == topic
        }
        channels[channel_id] = {
            "address": topic,
            "description": doc,
            "messages": channel_messages or {"raw": {"$ref": "#/components/messages/raw"}},
        }
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"The service publishes to {topic}.",
        }
    for name, cls in classes.items():
        messages[name.replace(".", "_")] = {
            "name": f"{EVENT_TYPE_PREFIX}{name}",
            "title": f"{EVENT_TYPE_PREFIX}{name}",
            "contentType": "application/cloudevents+json",
            "summary": _description(cls),
            "payload": {"$ref": f"./schemas/{name}.json"},
        }
    messages["raw"] = {
        "name": "raw",
        "summary": "The bytes of the record that could not be applied, unchanged.",
        "payload": {"type": "string", "contentEncoding": "binary"},
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Case coordination event stream",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 in structured JSON mode (CONTRACT section 5). Each "
            "event `id` is unique: consumers deduplicate on it. Events carry ids and codes, "
            "never personal data. Generated by `python -m events.schemagen`.",
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {
            "kafka": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": "KAFKA_BOOTSTRAP_SERVERS (an embedded broker by default)",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def main() -> None:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for event_type, cls in event_classes().items():
        schema_path(event_type).write_text(render(event_schema(cls)))
    ASYNCAPI_FILE.write_text(render_asyncapi())


def render_asyncapi() -> str:
    import yaml

    header = "# Generated by `python -m events.schemagen`; edit the event classes, not this file.\n"
    return header + yaml.safe_dump(asyncapi(), sort_keys=False, width=100)


if __name__ == "__main__":
    main()
