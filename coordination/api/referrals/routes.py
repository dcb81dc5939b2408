"""Referrals between agencies and their append-only updates (CONTRACT section 4)."""

from typing import Any

from flask import Response

from coordination.api import api
from coordination.api.referrals.schemas import (
    ReferralCreate,
    ReferralListQuery,
    UpdateCreate,
    dump_referral,
    dump_update,
)
from coordination.auth.guard import authorize, current_actor
from coordination.http.body import load_args, load_body
from coordination.http.conventions import (
    idempotent,
    if_match,
    json_response,
    page_request,
    page_response,
    request_uow,
)
from coordination.runtime import runtime
from services.referrals import handlers, queries
from services.referrals.commands import CreateReferral, PostReferralUpdate
from services.referrals.handlers import DueHours


def _due() -> DueHours:
    return DueHours(takedown=runtime().settings.takedown_due_hours)


@api.post("/referrals")
@authorize("referral.create", "referrals.write")
@idempotent
def create_referral() -> Response:
    body = load_body(ReferralCreate)
    victim = body.pop("victim")
    cmd = CreateReferral(
        draft=body.pop("status") == "draft",
        victim_age_band=victim["age_band"] if victim else None,
        **body,
    )
    actor = current_actor()
    referral = handlers.create_referral(cmd, request_uow(), actor, _due())
    return json_response(
        dump_referral(referral),
        201,
        version=referral.version,
        location=f"/v1/referrals/{referral.id}",
    )


@api.get("/referrals")
@authorize("referral.list", "referrals.read")
def list_referrals() -> Response:
    args: dict[str, Any] = load_args(ReferralListQuery)
    page_req = page_request("referrals")
    filters = queries.ReferralFilter(
        direction=args["direction"],
        status=args["status"],
        type=args["type"],
        case_id=args["case_id"],
    )
    with runtime().session_factory() as session:
        page = queries.list_referrals(session, current_actor(), filters, page_req)
        return page_response([dump_referral(r) for r in page.items], page, "referrals")


@api.get("/referrals/<referral_id>")
@authorize("referral.read", "referrals.read")
def read_referral(referral_id: str) -> Response:
    with runtime().session_factory() as session:
        referral = queries.get_referral(session, current_actor(), referral_id)
        return json_response(dump_referral(referral), version=referral.version)


@api.post("/referrals/<referral_id>/updates")
@authorize("referral.update", "referrals.write")
@idempotent
def post_update(referral_id: str) -> Response:
    expected = if_match()
    body = load_body(UpdateCreate)
    cmd = PostReferralUpdate(referral_id=referral_id, expected_version=expected, **body)
    actor = current_actor()
    referral, update = handlers.post_referral_update(cmd, request_uow(), actor, _due())
    return json_response(
        {**dump_update(update), "referral": dump_referral(referral)},
        201,
        version=referral.version,
        location=f"/v1/referrals/{referral.id}",
    )


@api.get("/referrals/<referral_id>/updates")
@authorize("referral.update_list", "referrals.read")
def list_updates(referral_id: str) -> Response:
    page_req = page_request("referral-updates")
    with runtime().session_factory() as session:
        page = queries.list_updates(session, current_actor(), referral_id, page_req)
        return page_response([dump_update(u) for u in page.items], page, "referral-updates")
