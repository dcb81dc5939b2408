"""One transaction per write request: the change, its stored answer and its access record.

A write view's unit of work (`request_uow()`) joins the request's transaction instead of
committing its own; so does the Idempotency-Key's stored answer. The access-record hook
(access_records.py) adds the request's record and commits it all once, after the response is
made and before it is sent; if that commit fails, the client gets the failure (503 or 500)
instead of the response. So a write costs one commit (one disk flush on PostgreSQL) instead of
three, and there is no moment at which a change is committed without its stored answer (a retry
would run it again) or without the record of who made it.
"""

import logging

from flask import Flask, g

from coordination.runtime import runtime
from services.unit_of_work import SharedTransaction

log = logging.getLogger("coordination.transaction")
_KEY = "request_transaction"


def request_transaction() -> SharedTransaction:
    """This request's transaction, begun on first use."""
    transaction: SharedTransaction | None = g.get(_KEY)
    if transaction is None:
        transaction = SharedTransaction(runtime().session_factory)
        setattr(g, _KEY, transaction)
    return transaction


def pending_transaction() -> SharedTransaction | None:
    """This request's transaction if a write awaits its commit in it."""
    transaction: SharedTransaction | None = g.get(_KEY)
    return transaction if transaction is not None and transaction.pending else None


def init_app(app: Flask) -> None:
    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        transaction = g.pop(_KEY, None)
        if transaction is None:
            return
        if transaction.pending:  # a write outside /v1, where no access-record hook commits it
            log.error("a write request ended with its transaction uncommitted")
            transaction.abandon()
        transaction.close()
