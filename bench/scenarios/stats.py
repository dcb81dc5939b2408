"""Statistics for one year over 1,000,000 cases and 10,000,000 support services (issue 8).

A bulk loader fills the benchmark's PostgreSQL database once per run, inside PostgreSQL
(`INSERT ... SELECT FROM generate_series`, in chunks, foreign-key triggers off for the load,
then VACUUM ANALYZE): cases spread evenly over 2022-2025 (80 % closed after 90 days), one
content item per case (70 % removed a day or two after their takedown request), a service mix
of six types delivered over the months after each case opened, and 200,000 referrals with
their updates (one investigation in fifty reaching `arrested`). Then two figures:

- `stats_query`: the query behind GET /v1/stats for 2025 (services.stats.handlers), no HTTP;
- `stats`: GET /v1/stats?from=2025-01-01&to=2025-12-31 over HTTP with an auditor's token.

Target: at most 1 s for the year. BENCH_STATS_CASES / BENCH_STATS_SERVICES scale the data down
for a quick try (defaults 1,000,000 and 10,000,000).
"""

import os
import sys
import threading
import time
from typing import Any

from sqlalchemy import text

from bench.scenario import (
    Context,
    HttpScenario,
    Prepared,
    PythonScenario,
    Sample,
    SetupError,
    register,
    timed_threads,
)
from services.db import make_engine, make_session_factory
from services.unit_of_work import UnitOfWork

YEAR_FROM, YEAR_TO = "2025-01-01", "2025-12-31"
CENTER, POLICE, COMMISSION, COUNSEL, AUDITOR = (
    "seoul-dsc",
    "smpa-cyber",
    "kcsc",
    "counsel-1",
    "seoul-gender-equality",
)
CHUNK = 1_000_000
_loaded: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()


def sizes() -> tuple[int, int]:
    return (
        int(os.environ.get("BENCH_STATS_CASES", 1_000_000)),
        int(os.environ.get("BENCH_STATS_SERVICES", 10_000_000)),
    )


def progress(message: str) -> None:
    print(f"bench: stats: {message}", file=sys.stderr, flush=True)


# Case k opened at OPENED(k): evenly over four years.
OPENED = "(timestamptz '2022-01-01 00:00:00+00' + ({k}) * interval '1 second' * {spacing})"
CASE_ID = "md5('case' || ({k}))::uuid::text"
# bigint bounds: psycopg sends small Python ints as smallint, and generate_series is overloaded.
SERIES = "generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint))"

CASES = """
INSERT INTO cases (id, reference, owner_org, status, harm_types, age_band, identity_state,
                   opened_at, closed_at, updated_at, version)
SELECT {case_id}, 'BENCH-' || k, :center,
       CASE WHEN k % 10 < 8 THEN 'closed' ELSE 'active' END,
       '["non_consensual_distribution"]'::json,
       (ARRAY['under_14','14_17','18_19','20s','20s','30s','40s','50_plus','unknown'])[1 + k % 9],
       'none', o, CASE WHEN k % 10 < 8 THEN o + interval '90 days' END, o, 1
FROM (SELECT k, {opened} AS o FROM {series} AS k) AS s
"""

CONTENT = """
INSERT INTO content_items (id, case_id, kind, sha256, involves_minor, status, registered_by_org,
                           registered_at, updated_at, takedown_requested_at, removed_at, version)
SELECT md5('content' || k)::uuid::text, {case_id},
       CASE WHEN k % 3 = 0 THEN 'video' ELSE 'image' END,
       md5('a' || k) || md5('b' || k), k % 2 = 0,
       CASE WHEN k % 10 < 7 THEN 'removed' ELSE 'takedown_requested' END, :center,
       o, o, o + interval '2 hours',
       CASE WHEN k % 10 < 7 THEN o + interval '2 hours' + (k % 48) * interval '1 hour' END, 1
FROM (SELECT k, {opened} AS o FROM {series} AS k) AS s
"""

SERVICES = """
INSERT INTO support_services (id, case_id, type, provider_org, delivered_at, count,
                              recorded_by_org, recorded_at)
SELECT md5('service' || i)::uuid::text, {case_id},
       (ARRAY['deletion_support','consultation','legal_support','psychological_therapy',
              'investigation_support','medical_support'])[1 + (i * 7) % 6],
       :center, d, 1 + i % 3, :center, d
FROM (SELECT i, i % CAST(:cases AS bigint) AS k,
             {opened_i} + (i / CAST(:cases AS bigint)) * interval '9 days' AS d
      FROM {series} AS i) AS s
"""

REFERRALS = """
INSERT INTO referrals (id, case_id, type, from_org, to_org, owner_org, share_victim_identity,
                       status, business_status, created_at, sent_at, updated_at, ended_at,
                       last_update_seq, version)
SELECT md5('referral' || k)::uuid::text, {case_id_r}, t, :center,
       CASE t WHEN 'takedown' THEN :commission WHEN 'investigation' THEN :police
              ELSE :counsel END,
       :center, false,
       CASE WHEN k % 5 = 0 THEN 'rejected' WHEN k % 5 = 1 THEN 'in_progress' ELSE 'completed' END,
       CASE WHEN t = 'investigation' AND k % 50 = 2 THEN 'arrested' END,
       o, o, o, CASE WHEN k % 5 <> 1 THEN o + interval '3 days' END, 1, 2
FROM (SELECT k, {opened_r} AS o,
             (ARRAY['takedown','investigation','counseling'])[1 + k % 3] AS t
      FROM {series} AS k) AS s
"""

UPDATES = """
INSERT INTO referral_updates (id, referral_id, case_id, seq, author_org, previous_status,
                              status, business_status, occurred_at, recorded_at)
SELECT md5('update' || r.id)::uuid::text, r.id, r.case_id, 1, r.to_org, 'requested',
       r.status, r.business_status, r.created_at + interval '1 day',
       r.created_at + interval '1 day'
FROM referrals AS r
"""


def load(context: Context) -> dict[str, Any]:
    """Fill the database once per run; returns the sizes and how long the load took."""
    with _lock:
        if context.database_url in _loaded:
            return _loaded[context.database_url]
        if not context.database_url.startswith("postgresql"):
            raise SetupError("the statistics benchmark runs on PostgreSQL")
        context.seed_demo()
        cases, services = sizes()
        referrals = max(1, cases // 5)
        spacing = 4 * 365 * 86400 / cases
        fill = {
            "case_id": CASE_ID.format(k="k"),
            "opened": OPENED.format(k="k", spacing=spacing),
            "series": SERIES,
            # referral k is about case 5k: spread over the four years like the cases
            "case_id_r": CASE_ID.format(k="k * 5"),
            "opened_r": OPENED.format(k="k * 5", spacing=spacing),
            "opened_i": OPENED.format(k="i % CAST(:cases AS bigint)", spacing=spacing),
        }
        orgs = {
            "center": CENTER,
            "police": POLICE,
            "commission": COMMISSION,
            "counsel": COUNSEL,
            "cases": cases,
        }
        began = time.perf_counter()
        engine = make_engine(context.database_url)
        try:
            with engine.connect() as db:
                if db.scalar(text("SELECT count(*) FROM cases")) >= cases:
                    return {}
            plan = [
                ("cases", CASES.format(**fill), cases),
                ("content_items", CONTENT.format(**fill), cases),
                ("referrals", REFERRALS.format(**fill), referrals),
                (
                    "support_services",
                    SERVICES.format(**fill),
                    services,
                ),
            ]
            for table, statement, total in plan:
                for lo in range(0, total, CHUNK):
                    hi = min(total, lo + CHUNK) - 1
                    with engine.begin() as db:
                        # A scratch database: skip the foreign-key triggers while loading.
                        db.execute(text("SET LOCAL session_replication_role = replica"))
                        db.execute(text(statement), {**orgs, "lo": lo, "hi": hi})
                    progress(f"{table}: {hi + 1:,} of {total:,} rows")
            with engine.begin() as db:
                db.execute(text("SET LOCAL session_replication_role = replica"))
                db.execute(text(UPDATES))
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
                db.execute(text("VACUUM ANALYZE"))
        finally:
            engine.dispose()
        loaded = {
            "cases": cases,
            "support_services": services,
            "content_items": cases,
            "referrals": referrals,
            "load_s": round(time.perf_counter() - began, 1),
            "period": f"{YEAR_FROM}..{YEAR_TO}",
        }
        progress(f"loaded in {loaded['load_s']} s")
        _loaded[context.database_url] = loaded
        return loaded


# -- the query itself, no HTTP ------------------------------------------------------------------


def run_query(context: Context, threads: int, duration_s: float) -> Sample:
    from datetime import UTC, datetime

    from services.stats.commands import ReadStatistics
    from services.stats.handlers import read_statistics

    engine = make_engine(context.database_url, pool_size=threads, max_overflow=0)
    session_factory = make_session_factory(engine)
    query = ReadStatistics(datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))

    def one() -> None:
        read_statistics(query, UnitOfWork(session_factory))

    try:
        one()  # warm the pool and the cache before the clock starts
        # A query can take about a second: measure at least three of them.
        return timed_threads(threads, max(duration_s, 3.0), one)
    finally:
        engine.dispose()


register(
    PythonScenario(
        name="stats_query",
        summary="the one-year statistics query over 1M cases / 10M services, no HTTP",
        run=run_query,
        setup=load,
        threads=(1,),
        unit="queries",
    )
)


# -- over HTTP ----------------------------------------------------------------------------------


def setup_http(context: Context) -> Prepared:
    from services.clients.commands import CreateClient
    from services.clients.handlers import create_client

    fields = load(context)
    engine = make_engine(context.database_url)
    try:
        issued = create_client(
            CreateClient(AUDITOR, "stats.read"), UnitOfWork(make_session_factory(engine))
        )
    finally:
        engine.dispose()
    assert issued.client_secret is not None
    token = context.access_token(issued.client_id, issued.client_secret, "stats.read")
    return Prepared(headers={"Authorization": f"Bearer {token}"}, fields=fields)


register(
    HttpScenario(
        name="stats",
        summary="GET /v1/stats for one year over 1M cases / 10M services (auditor token)",
        path=f"/v1/stats?from={YEAR_FROM}&to={YEAR_TO}",
        setup=setup_http,
        connections=(1,),
    )
)
