"""Wire shapes of the notification feed."""

from marshmallow import Schema, fields, validate

MAX_LIMIT = 200


class NotificationListArgs(Schema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**62))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_LIMIT))
