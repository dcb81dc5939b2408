"""The query of GET /v1/stats."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema


class Instant(fields.Field):  # type: ignore[type-arg]
    """An RFC 3339 date-time, or a date. As `to`, a date means the end of that day."""

    def __init__(self, *, end_of_day: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.end_of_day = end_of_day

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise ValidationError("an RFC 3339 date or date-time")
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                start = datetime.combine(day, time(), tzinfo=UTC)
                return start + timedelta(days=1) if self.end_of_day else start
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("an RFC 3339 date or date-time") from None
        if moment.tzinfo is None:
            raise ValidationError("a date-time needs a time zone (e.g. Z)")
        return moment.astimezone(UTC)


class StatsQuery(Schema):
    start = Instant(data_key="from", required=True)
    end = Instant(data_key="to", required=True, end_of_day=True)
    group_by = fields.String(validate=validate.OneOf(["month"]), load_default=None)

    @validates_schema
    def period(self, data: dict[str, Any], **_: Any) -> None:
        if data["end"] <= data["start"]:
            raise ValidationError("must be after from", field_name="to")
