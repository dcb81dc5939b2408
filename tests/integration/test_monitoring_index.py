"""The hash index stays correct across worker processes (issue 7): two app instances on one
database, each with its own in-memory index, as two gunicorn workers would have."""

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from coordination.app import create_app
from coordination.config import Settings
from coordination.runtime import Runtime, runtime
from services.cases.commands import UpdateCase
from services.cases.handlers import update_case
from services.monitoring.index import SharedIndex, current_generation
from services.monitoring.models import HashIndexChange
from tests.support.agencies import Agencies, Agency
from tests.support.monitoring import actor_of, open_case, random_sha256, register


@pytest.fixture
def second_app(settings: Settings) -> Iterator[Flask]:
    other = create_app(settings)
    yield other
    runtime(other).engine.dispose()


def hit_via(app: Flask, agency: Agency, sha256: str, url: str) -> dict[str, object]:
    response = app.test_client().post(
        "/v1/content/matches",
        json={"sha256": sha256, "url": url, "platform": "p"},
        headers={"Authorization": f"Bearer {agency.token}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.json)  # type: ignore[arg-type]


def test_index_registered_in_one_worker_matches_in_the_other_from_next_request(
    app: Flask, second_app: Flask, rt: Runtime, agencies: Agencies
) -> None:
    center = agencies.new("support_center")
    case_id = open_case(rt, center)
    # Both workers have loaded their index before the item exists.
    hit_via(app, center, random_sha256(), "https://warm.test/1")
    hit_via(second_app, center, random_sha256(), "https://warm.test/2")

    item = register(center, case_id)  # through the first app
    seen = hit_via(second_app, center, str(item["sha256"]), "https://w2.test/1")

    assert seen["matched"] is True


def test_index_closed_or_erased_case_stops_matching_in_every_worker(
    app: Flask, second_app: Flask, rt: Runtime, agencies: Agencies
) -> None:
    center = agencies.new("support_center")
    closed_case, erased_case = open_case(rt, center), open_case(rt, center)
    closed_item, erased_item = register(center, closed_case), register(center, erased_case)
    for worker in (app, second_app):
        assert hit_via(worker, center, str(closed_item["sha256"]), "https://a.test/1")["matched"]
        assert hit_via(worker, center, str(erased_item["sha256"]), "https://a.test/2")["matched"]

    closing = center.get(f"/v1/cases/{closed_case}")
    closed = center.patch(
        f"/v1/cases/{closed_case}",
        json={"status": "closed"},
        headers={"If-Match": closing.headers["ETag"]},
    )
    assert closed.status_code == 200, closed.get_data(as_text=True)
    recorded = center.put(f"/v1/cases/{erased_case}/victim", json={"name": "A. Victim"})
    assert recorded.status_code in (200, 201), recorded.get_data(as_text=True)
    erased = center.delete(f"/v1/cases/{erased_case}/victim")
    assert erased.status_code == 204, erased.get_data(as_text=True)

    for worker in (app, second_app):
        assert not hit_via(worker, center, str(closed_item["sha256"]), "https://b.test/1")[
            "matched"
        ]
        assert not hit_via(worker, center, str(erased_item["sha256"]), "https://b.test/2")[
            "matched"
        ]


def test_index_reopened_case_matches_again(app: Flask, rt: Runtime, agencies: Agencies) -> None:
    center = agencies.new("support_center")
    case_id = open_case(rt, center)
    item = register(center, case_id)
    actor = actor_of(center)
    update_case(UpdateCase(case_id, None, status="closed"), rt.uow(actor), actor)
    assert not hit_via(app, center, str(item["sha256"]), "https://r.test/1")["matched"]

    update_case(UpdateCase(case_id, None, status="active"), rt.uow(actor), actor)

    assert hit_via(app, center, str(item["sha256"]), "https://r.test/2")["matched"]


def test_index_refresh_is_one_read_when_nothing_changed(rt: Runtime, agencies: Agencies) -> None:
    center = agencies.new("support_center")
    register(center, open_case(rt, center))
    index = SharedIndex()
    with rt.session_factory() as session:
        index.refresh(session)
        loaded = len(index.index)
        statements: list[str] = []
        from sqlalchemy import event

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        engine = rt.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            index.refresh(session)
        finally:
            event.remove(engine, "before_cursor_execute", count)

    assert loaded >= 1
    assert len(statements) == 1
    assert "hash_index_state" in statements[0]


def test_index_each_change_bumps_generation_with_its_log_row(
    rt: Runtime, agencies: Agencies
) -> None:
    center = agencies.new("support_center")
    case_id = open_case(rt, center)
    with rt.session_factory() as session:
        before = current_generation(session)

    item = register(center, case_id)

    with rt.session_factory() as session:
        after = current_generation(session)
        logged = session.scalars(
            select(HashIndexChange.content_id).where(HashIndexChange.generation > before)
        ).all()
    assert after > before
    assert item["id"] in logged


def test_index_behind_pruned_changes_reloads_everything(rt: Runtime, agencies: Agencies) -> None:
    from datetime import UTC, datetime, timedelta

    from services.monitoring.index import prune_changes

    center = agencies.new("support_center")
    case_id = open_case(rt, center)
    index = SharedIndex()
    with rt.session_factory() as session:
        index.refresh(session)
    item = register(center, case_id)
    with rt.uow() as uow:  # the sweeper's pruning, as if a week had passed
        assert prune_changes(uow.session, datetime.now(UTC) + timedelta(days=1)) >= 1
        uow.commit()

    with rt.session_factory() as session:
        index.refresh(session)

    assert item["id"] in index.index


def test_index_warm_up_loads_before_the_first_hit(
    second_app: Flask, rt: Runtime, agencies: Agencies
) -> None:
    from coordination.api.monitoring.routes import INDEX_EXTENSION, warm_hash_index

    center = agencies.new("support_center")
    item = register(center, open_case(rt, center))

    warm_hash_index(second_app).join(timeout=60)

    index = second_app.extensions[INDEX_EXTENSION]
    assert isinstance(index, SharedIndex)
    assert index.generation is not None
    assert item["id"] in index.index
