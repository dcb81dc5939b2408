"""GET /v1/stats: the published statistics of a period, as JSON or (Accept: text/csv) CSV."""

import csv
import io
from typing import Any

from flask import Response, jsonify, request

from coordination.api import api
from coordination.api.stats.schemas import StatsQuery
from coordination.auth.guard import authorize, current_actor
from coordination.http.body import load_args
from coordination.runtime import runtime
from services.stats import handlers
from services.stats.commands import ReadStatistics
from services.stats.publish import csv_rows

CSV = "text/csv"


@api.get("/stats")
@authorize("stats.read", "stats.read")
def read_statistics() -> Response:
    query: dict[str, Any] = load_args(StatsQuery)
    published = handlers.read_statistics(
        ReadStatistics(query["start"], query["end"], by_month=query["group_by"] == "month"),
        runtime().uow(current_actor()),
    )
    if request.accept_mimetypes.best_match(["application/json", CSV]) == CSV:
        return Response(to_csv(published), mimetype=CSV, headers=_no_store())
    response = jsonify(published)
    response.headers.update(_no_store())
    return response


def to_csv(published: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["from", "to", "month", "figure", "category", "value"])
    period = published["period"]
    for month, figure, category, value in csv_rows(published):
        writer.writerow(
            [period["from"], period["to"], month, figure, category, "" if value is None else value]
        )
    return out.getvalue()


def _no_store() -> dict[str, str]:
    return {"Cache-Control": "no-store"}
