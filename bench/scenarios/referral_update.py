"""The referral status update (issue 4): POST /v1/referrals/{id}/updates with If-Match, against
the raw database ceiling of the same rows, at 16 and 64 connections, in the same run.

- `referral_update` (HTTP, the real server): the standards commission posts a business status
  on one of 64 takedown referrals it has in progress, round robin: bearer token check, JSON
  validation, the access policy (the referral read and locked), If-Match, the append-only update,
  the referral's new version, one outbox event (`referral.update_added`), then the access record
  (a second outbox row, committed by the process's group-commit writer, which shares one
  transaction among concurrent requests' records). `If-Match: *`: wrk cannot carry each
  referral's ETag from one answer to the next request; the header is still parsed and checked.
  Tokens of 32 clients of the commission take turns, so the per-client rate limit (50/s by
  default) is not what is measured.
  The service runs as an API node does (`serve --no-background`): the relay, the consumers, the
  sweeper and the checkpointer are NOT running, so the outbox rows are written but not
  published. The measured unit is the issue's: token check, validation, policy, transition,
  outbox row. The stream's own throughput (relay and consumers) is measured by bench/stream.py.
- `referral_update_ceiling` (no HTTP): the same rows in one transaction through SQLAlchemy on the
  service's engine settings: UPDATE the referral (version, sequence, business status), INSERT the
  update, INSERT two outbox rows. It runs in as many processes as the server has workers
  (BENCH_WORKERS, 2), the connections split among them (16: 2 x 8; 64: 2 x 32), throughputs
  summed and latencies merged: in one process its threads share one GIL, and at 16 threads that
  process is CPU-bound on Python (one core busy, PostgreSQL waiting), so it would measure the
  client, not the database, and not on the server's terms. `processes` in the results says how
  many; BENCH_CEILING_PROCESSES=1 gives the old single-process figure.

Targets (issue 4): `referral_update` at least 70 % of `referral_update_ceiling` at the same
concurrency, p99 at most 50 ms at 16 connections, more than 500 updates/s.
"""

import itertools
import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests
from sqlalchemy import insert, update

from bench.scenario import (
    Context,
    HttpScenario,
    Prepared,
    PythonScenario,
    Sample,
    SetupError,
    register,
    timed_processes,
    timed_threads,
)
from services.cases import repository as cases
from services.cases.models import Case
from services.clients.commands import CreateClient
from services.clients.handlers import create_client
from services.db import make_engine, make_session_factory
from services.ids import new_id
from services.outbox.models import OutboxMessage
from services.referrals.models import Referral, ReferralUpdate
from services.unit_of_work import UnitOfWork

CENTER, COMMISSION = "seoul-dsc", "kcsc"
REFERRALS = 64
CLIENTS = 32
BODY = {"business_status": "blocking_ordered", "note": "Blocking ordered for the foreign mirror."}
CENTER_SCOPES = "cases.read cases.write content.read content.write referrals.read referrals.write"
COMMISSION_SCOPES = "referrals.read referrals.write"


def _session_factory(context: Context, **kwargs: Any) -> Any:
    return make_session_factory(make_engine(context.database_url, **kwargs))


def _tokens(context: Context, org: str, scopes: str, count: int) -> list[str]:
    """COUNT clients of ORG made in process (no CLI start-up per client), and a token each."""
    context.seed_demo()
    factory = _session_factory(context)
    tokens = []
    for _ in range(count):
        issued = create_client(CreateClient(org, scopes), UnitOfWork(factory))
        assert issued.client_secret is not None
        tokens.append(context.access_token(issued.client_id, issued.client_secret))
    factory.kw["bind"].dispose()
    return tokens


def _call(context: Context, token: str, method: str, path: str, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    answer = requests.request(
        method, context.base_url + path, headers=headers, timeout=30, **kwargs
    )
    if answer.status_code >= 300:
        raise SetupError(f"{method} {path} answered {answer.status_code}: {answer.text[:200]}")
    return answer


def setup(context: Context) -> Prepared:
    """Over the API, as the agencies would: a case, a consent, an item, 64 takedowns in
    progress at the commission."""
    [center] = _tokens(context, CENTER, CENTER_SCOPES, 1)
    commission = _tokens(context, COMMISSION, COMMISSION_SCOPES, CLIENTS)
    case = _call(
        context,
        center,
        "POST",
        "/v1/cases",
        json={"harm_types": ["non_consensual_distribution"], "victim": {"age_band": "20s"}},
    ).json()
    _call(
        context,
        center,
        "POST",
        f"/v1/cases/{case['id']}/consents",
        json={"purpose": "share_with_standards_commission", "granted_by": "victim"},
    )
    item = _call(
        context,
        center,
        "POST",
        f"/v1/cases/{case['id']}/content",
        json={
            "kind": "video",
            "sha256": new_id().replace("-", "").ljust(64, "0"),
            "involves_minor": False,
        },
    ).json()
    ids, tokens = [], []
    for n in range(REFERRALS):
        referral = _call(
            context,
            center,
            "POST",
            "/v1/referrals",
            json={
                "case_id": case["id"],
                "type": "takedown",
                "to_org": COMMISSION,
                "content_ids": [item["id"]],
            },
        ).json()
        token = commission[n % CLIENTS]
        for status in ("accepted", "in_progress"):
            _call(
                context,
                token,
                "POST",
                f"/v1/referrals/{referral['id']}/updates",
                json={"status": status},
                headers={"If-Match": "*"},
            )
        ids.append(referral["id"])
        tokens.append(token)
    lua = (
        "ids = {" + ", ".join(json.dumps(i) for i in ids) + "}\n"
        "tokens = {" + ", ".join(json.dumps(t) for t in tokens) + "}\n"
        "counter = 0\n"
        "request = function()\n"
        "  counter = counter + 1\n"
        "  local n = (counter % #ids) + 1\n"
        '  wrk.headers["Authorization"] = "Bearer " .. tokens[n]\n'
        '  return wrk.format("POST", "/v1/referrals/" .. ids[n] .. "/updates")\n'
        "end\n"
    )
    return Prepared(
        headers={"Content-Type": "application/json", "If-Match": "*"},
        lua=lua,
        fields={"referrals": REFERRALS, "clients": CLIENTS},
    )


register(
    HttpScenario(
        name="referral_update",
        summary="POST /v1/referrals/{id}/updates with If-Match (64 referrals, 32 clients)",
        path="/v1/referrals/-/updates",
        method="POST",
        json_body=BODY,
        setup=setup,
        connections=(16, 64),
        background=False,  # an API node: the relay and consumers run elsewhere (bench/stream.py)
    )
)


# ---- the ceiling ------------------------------------------------------------------------------

_ceiling_lock = threading.Lock()
_ceiling_ids: dict[str, list[str]] = {}


def ceiling_setup(context: Context) -> dict[str, Any]:
    """64 referrals in progress, written straight through the domain (no HTTP)."""
    with _ceiling_lock:
        if context.database_url in _ceiling_ids:
            return {"referrals": REFERRALS, "processes": ceiling_processes()}
        context.seed_demo()
        factory = _session_factory(context)
        with UnitOfWork(factory) as uow:
            now = datetime.now(UTC)
            case = Case.open(
                case_id=new_id(),
                reference=cases.next_reference(uow.session, now.year),
                owner_org=CENTER,
                harm_types=["other"],
                age_band="20s",
                now=now,
            )
            uow.session.add(case)
            ids = []
            for _ in range(REFERRALS):
                referral = Referral.create(
                    referral_id=new_id(),
                    case_id=case.id,
                    referral_type="takedown",
                    from_org=CENTER,
                    to_org=COMMISSION,
                    owner_org=CENTER,
                    content_ids=[],
                    share_victim_identity=False,
                    legal_basis="bench",
                    note=None,
                    based_on=None,
                    victim_age_band=None,
                    harm_types=None,
                    draft=False,
                    due_hours=24,
                    now=now,
                )
                referral.status = "in_progress"
                uow.session.add(referral)
                ids.append(referral.id)
            uow.commit()
        factory.kw["bind"].dispose()
        _ceiling_ids[context.database_url] = ids
        return {"referrals": REFERRALS, "processes": ceiling_processes()}


def ceiling_processes() -> int:
    """As many processes as the server has workers (BENCH_WORKERS, 2), unless
    BENCH_CEILING_PROCESSES says otherwise (1: every thread in the harness's own process)."""
    return int(os.environ.get("BENCH_CEILING_PROCESSES") or os.environ.get("BENCH_WORKERS") or 2)


def ceiling_run(context: Context, threads: int, duration_s: float) -> Sample:
    ids = _ceiling_ids[context.database_url]
    processes = ceiling_processes()
    if processes <= 1:
        one, close = ceiling_operation(context.database_url, ids, 0, 1, threads)
        try:
            timed_threads(threads, 0.2, one)  # open the pool's connections before the clock
            return timed_threads(threads, duration_s, one)
        finally:
            close()
    return timed_processes(
        processes, threads, duration_s, ceiling_operation, context.database_url, ids
    )


def ceiling_operation(
    database_url: str, ids: list[str], part: int, parts: int, threads: int
) -> tuple[Callable[[], None], Callable[[], None]]:
    """One referral update's rows in one transaction, on a pool of THREADS connections; and
    what closes the pool. Process PART of PARTS takes every PARTS-th referral from the PART-th:
    two processes walking the same list in step would wait on each other's row locks."""
    ids = ids[part::parts]
    factory = make_session_factory(make_engine(database_url, pool_size=threads, max_overflow=0))
    turns = itertools.count()
    data = json.dumps({"referral_id": ids[0], "business_status": "blocking_ordered"})
    referrals, updates, outbox = (
        Referral.__table__,
        ReferralUpdate.__table__,
        OutboxMessage.__table__,
    )

    def one() -> None:
        referral_id = ids[next(turns) % len(ids)]
        now = datetime.now(UTC)
        with factory.begin() as session:
            seq = session.execute(
                update(referrals)
                .where(referrals.c.id == referral_id)
                .values(
                    version=referrals.c.version + 1,
                    last_update_seq=referrals.c.last_update_seq + 1,
                    business_status="blocking_ordered",
                    updated_at=now,
                )
                .returning(referrals.c.last_update_seq)
            ).scalar_one()
            session.execute(
                insert(updates).values(
                    id=new_id(),
                    referral_id=referral_id,
                    seq=seq,
                    author_org=COMMISSION,
                    previous_status="in_progress",
                    business_status="blocking_ordered",
                    note=BODY["note"],
                    occurred_at=now,
                    recorded_at=now,
                )
            )
            for topic, kind in (
                ("coordination.events", "update_added"),
                ("coordination.audit", "access"),
            ):
                session.execute(
                    insert(outbox).values(
                        id=new_id(),
                        topic=topic,
                        key=referral_id,
                        type=kind,
                        subject=referral_id,
                        time=now,
                        data=data,
                        created_at=now,
                        actor_org=COMMISSION,
                        actor_client_id="bench",
                        request_id="bench",
                        attempts=0,
                    )
                )

    return one, factory.kw["bind"].dispose


register(
    PythonScenario(
        name="referral_update_ceiling",
        summary="the rows of a referral update in one transaction through SQLAlchemy, no HTTP",
        run=ceiling_run,
        setup=ceiling_setup,
        threads=(16, 64),
        unit="transactions",
    )
)
