"""The access policy against a real database: the same answer by id and in lists."""

import pytest
from sqlalchemy import select

from coordination.runtime import Runtime
from services.access import policy
from services.actor import Actor
from services.cases.models import Case
from services.content.models import ContentItem
from services.errors import Forbidden, NotFound
from services.referrals.models import Referral
from tests.support.agencies import Agencies, Agency
from tests.support.cases import add_content, add_referral, open_case, set_referral_status

HIDING = ("draft", "rejected", "cancelled")
SHARING = ("requested", "accepted", "in_progress", "on_hold", "completed", "failed")


def actor(agency: Agency) -> Actor:
    return Actor(org=agency.org, org_kind=agency.kind, client_id=agency.client_id)


def case_ids(rt: Runtime, who: Actor) -> set[str]:
    with rt.session_factory() as session:
        return set(session.scalars(select(Case.id).where(policy.case_filter(who))))


def content_ids(rt: Runtime, who: Actor) -> set[str]:
    with rt.session_factory() as session:
        return set(session.scalars(select(ContentItem.id).where(policy.content_filter(who))))


@pytest.mark.parametrize("status", SHARING + HIDING)
def test_receiver_sees_case_only_while_referral_shares(
    agencies: Agencies, rt: Runtime, status: str
) -> None:
    center, police = agencies.new("support_center"), agencies.new("police")
    case = open_case(center)
    add_referral(rt, case["id"], center.org, police.org, status=status)
    visible = status in SHARING
    assert (case["id"] in case_ids(rt, actor(police))) is visible
    with rt.session_factory() as session:
        assert set(session.scalars(policy.visible_case_ids(actor(police)))) == (
            {case["id"]} if visible else set()
        )
        if visible:
            assert policy.visible_case(session, actor(police), case["id"]).id == case["id"]
        else:
            with pytest.raises(NotFound):
                policy.visible_case(session, actor(police), case["id"])
    assert (police.get(f"/v1/cases/{case['id']}").status_code == 200) is visible


def test_receiver_sees_only_the_content_its_referral_shares(
    agencies: Agencies, rt: Runtime
) -> None:
    center, kcsc = agencies.new("support_center"), agencies.new("standards_commission")
    case = open_case(center)
    shared, kept = (add_content(rt, case["id"], center.org) for _ in range(2))
    referral_id = add_referral(
        rt, case["id"], center.org, kcsc.org, referral_type="takedown", content_ids=[shared]
    )
    assert content_ids(rt, actor(center)) == {shared, kept}
    assert content_ids(rt, actor(kcsc)) == {shared}
    with rt.session_factory() as session:
        assert policy.visible_content(session, actor(kcsc), shared).id == shared
        with pytest.raises(NotFound):
            policy.visible_content(session, actor(kcsc), kept)
    set_referral_status(rt, referral_id, "cancelled")
    assert content_ids(rt, actor(kcsc)) == set()


def test_identity_needs_sharing_flag_and_lawful_ground(agencies: Agencies, rt: Runtime) -> None:
    center = agencies.new("support_center")
    no_flag, no_consent, with_basis = (agencies.new("police") for _ in range(3))
    case = open_case(center)
    add_referral(rt, case["id"], center.org, no_flag.org, share_victim_identity=False)
    add_referral(rt, case["id"], center.org, no_consent.org, share_victim_identity=True)
    add_referral(
        rt, case["id"], center.org, with_basis.org, share_victim_identity=True,
        legal_basis="court_order",
    )  # fmt: skip
    with rt.session_factory() as session:
        loaded = session.get(Case, case["id"])
        assert loaded is not None
        assert policy.can_read_identity(session, actor(center), loaded)
        assert not policy.can_read_identity(session, actor(no_flag), loaded)
        assert not policy.can_read_identity(session, actor(no_consent), loaded)
        assert policy.can_read_identity(session, actor(with_basis), loaded)
        assert policy.orgs_reading_identity_for(session, case["id"], "share_with_police") == [
            with_basis.org
        ]
    # A consent for another purpose does not help; the matching one does.
    center.post(
        f"/v1/cases/{case['id']}/consents",
        json={"purpose": "share_with_legal_aid", "granted_by": "victim"},
    )
    with rt.session_factory() as session:
        loaded = session.get(Case, case["id"])
        assert loaded is not None
        assert not policy.can_read_identity(session, actor(no_consent), loaded)
    center.post(
        f"/v1/cases/{case['id']}/consents",
        json={"purpose": "share_with_police", "granted_by": "victim"},
    )
    with rt.session_factory() as session:
        loaded = session.get(Case, case["id"])
        assert loaded is not None
        assert policy.can_read_identity(session, actor(no_consent), loaded)
        assert not policy.can_read_identity(session, actor(no_flag), loaded)


def test_referral_filter_hides_drafts_from_the_receiver(agencies: Agencies, rt: Runtime) -> None:
    center, police, stranger = (
        agencies.new("support_center"),
        agencies.new("police"),
        agencies.new("police"),
    )
    case = open_case(center)
    draft = add_referral(rt, case["id"], center.org, police.org, status="draft")
    sent = add_referral(rt, case["id"], center.org, police.org, status="cancelled")

    def referrals(who: Actor) -> set[str]:
        with rt.session_factory() as session:
            return set(session.scalars(select(Referral.id).where(policy.referral_filter(who))))

    assert referrals(actor(center)) == {draft, sent}
    assert referrals(actor(police)) == {sent}
    assert referrals(actor(stranger)) == set()
    with rt.session_factory() as session:
        with pytest.raises(NotFound):
            policy.visible_referral(session, actor(police), draft)
        assert policy.visible_referral(session, actor(police), sent).id == sent


def test_auditor_and_system_see_no_case(agencies: Agencies, rt: Runtime) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    auditor = Actor(org=center.org, org_kind="auditor", client_id="x")  # even with the org id
    assert case_ids(rt, auditor) == set()
    assert case_ids(rt, Actor(org="", org_kind="system", client_id="system")) == set()
    with rt.session_factory() as session, pytest.raises(NotFound):
        policy.visible_case(session, auditor, case["id"])


def test_owned_case_refuses_a_receiver_with_forbidden(agencies: Agencies, rt: Runtime) -> None:
    center, police = agencies.new("support_center"), agencies.new("police")
    case = open_case(center)
    add_referral(rt, case["id"], center.org, police.org)
    with rt.session_factory() as session:
        assert policy.owned_case(session, actor(center), case["id"]).id == case["id"]
        with pytest.raises(Forbidden):
            policy.owned_case(session, actor(police), case["id"])


def test_a_police_org_with_the_center_id_is_not_the_owner(agencies: Agencies, rt: Runtime) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    impostor = Actor(org=center.org, org_kind="police", client_id="x")
    assert case["id"] not in case_ids(rt, impostor)


def test_sharing_is_lawful_with_matching_live_consent_or_legal_basis(
    agencies: Agencies, rt: Runtime
) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    with rt.session_factory() as session:
        assert not policy.sharing_is_lawful(session, case["id"], "police", None)
        assert policy.sharing_is_lawful(session, case["id"], "police", "court_order")
    consent = center.post(
        f"/v1/cases/{case['id']}/consents",
        json={"purpose": "share_with_police", "granted_by": "victim"},
    ).json
    assert consent is not None
    with rt.session_factory() as session:
        assert policy.sharing_is_lawful(session, case["id"], "police", None)
        assert not policy.sharing_is_lawful(session, case["id"], "legal_aid", None)
        assert policy.live_consent_for(session, case["id"], "police").id == consent["id"]  # type: ignore[union-attr]
    center.post(f"/v1/consents/{consent['id']}/revoke", headers={"If-Match": '"1"'})
    with rt.session_factory() as session:
        assert not policy.sharing_is_lawful(session, case["id"], "police", None)
