"""Support services over HTTP: recorded by the owning center, or by a legal aid or counseling
org through the referral it accepted; listed through the policy; announced as service.recorded."""

from typing import Any

import pytest

from coordination.runtime import Runtime
from tests.support.agencies import Agencies, Agency
from tests.support.casework import events, grant, move, open_case, refer

DELIVERED = "2026-03-01T10:00:00Z"


class Setting:
    def __init__(self, agencies: Agencies, rt: Runtime) -> None:
        self.rt = rt
        self.agencies = agencies
        self.center = agencies.new("support_center")
        self.case_id = open_case(self.center)

    def referred(self, kind: str, referral_type: str, status: str = "accepted") -> Agency:
        partner = self.agencies.new(kind)
        grant(self.center, self.case_id, f"share_with_{kind}")
        referral = refer(self.center, case_id=self.case_id, type=referral_type, to_org=partner.org)
        if status == "accepted":
            move(partner, referral, "accepted")
        return partner

    def record(self, agency: Agency, **body: Any) -> Any:
        payload = {"type": "legal_support", "delivered_at": DELIVERED, **body}
        return agency.post(f"/v1/cases/{self.case_id}/services", json=payload)

    def listed(self, agency: Agency) -> list[str]:
        response = agency.get(f"/v1/cases/{self.case_id}/services")
        assert response.status_code == 200, response.json
        return [s["id"] for s in response.json["items"]]


@pytest.fixture
def setting(agencies: Agencies, rt: Runtime) -> Setting:
    return Setting(agencies, rt)


def test_owner_records_a_service_and_it_is_announced(setting: Setting) -> None:
    response = setting.record(setting.center, type="deletion_support", count=3)
    assert response.status_code == 201
    service = response.json
    assert service["provider_org"] == setting.center.org
    assert (service["type"], service["count"], service["delivered_at"]) == (
        "deletion_support",
        3,
        DELIVERED,
    )
    assert setting.listed(setting.center) == [service["id"]]
    [recorded] = events(setting.rt, service["id"])
    assert recorded["type"] == "org.coordination.service.recorded"
    assert (recorded["service_type"], recorded["count"]) == ("deletion_support", 3)
    assert recorded["case_id"] == setting.case_id


def test_owner_records_a_partners_service(setting: Setting) -> None:
    partner = setting.agencies.new("counseling")
    response = setting.record(
        setting.center, type="psychological_therapy", provider_org=partner.org
    )
    assert response.status_code == 201
    assert response.json["provider_org"] == partner.org
    assert setting.record(setting.center, provider_org="no-such-org").status_code == 422


@pytest.mark.parametrize(
    ("kind", "referral_type", "service_type"),
    [
        ("legal_aid", "legal_aid", "legal_support"),
        ("counseling", "counseling", "psychological_therapy"),
    ],
)
def test_partner_records_through_its_accepted_referral(
    setting: Setting, kind: str, referral_type: str, service_type: str
) -> None:
    partner = setting.referred(kind, referral_type)
    response = setting.record(partner, type=service_type)
    assert response.status_code == 201, response.json
    assert response.json["provider_org"] == partner.org
    assert response.json["referral_id"]
    owner_sees = setting.listed(setting.center)
    assert response.json["id"] in owner_sees
    assert setting.listed(partner) == [response.json["id"]]


def test_partner_sees_only_its_own_services(setting: Setting) -> None:
    partner = setting.referred("legal_aid", "legal_aid")
    own = setting.record(partner).json["id"]
    setting.record(setting.center, type="consultation")
    assert setting.listed(partner) == [own]
    assert len(setting.listed(setting.center)) == 2


def test_partner_before_accepting_may_not_record(setting: Setting) -> None:
    partner = setting.referred("legal_aid", "legal_aid", status="requested")
    response = setting.record(partner)
    assert response.status_code == 403
    assert setting.listed(setting.center) == []


def test_partner_records_only_its_own_service(setting: Setting) -> None:
    partner = setting.referred("legal_aid", "legal_aid")
    other = setting.agencies.new("legal_aid")
    assert setting.record(partner, provider_org=other.org).status_code == 422
    assert setting.listed(setting.center) == []


def test_police_with_an_accepted_investigation_may_not_record(setting: Setting) -> None:
    police = setting.referred("police", "investigation")
    assert setting.record(police, type="investigation_support").status_code == 403


def test_orgs_without_a_referral_get_404(setting: Setting) -> None:
    setting.record(setting.center)
    for kind in ("support_center", "legal_aid", "counseling"):
        other = setting.agencies.new(kind)
        assert setting.record(other).status_code == 404
        response = other.get(f"/v1/cases/{setting.case_id}/services")
        assert response.status_code == 404
        assert setting.case_id not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "change",
    [
        {"type": "massage"},
        {"count": 0},
        {"count": "2"},
        {"delivered_at": "2999-01-01T00:00:00Z"},
        {"delivered_at": "2026-01-01T00:00:00"},
        {"delivered_at": None},
        {"recorded_by_org": "me"},
        {"id": "mine"},
    ],
)
def test_invalid_service_is_refused(setting: Setting, change: dict[str, Any]) -> None:
    response = setting.record(setting.center, **change)
    assert response.status_code == 422, (change, response.json)
    assert setting.listed(setting.center) == []


def test_services_scope_is_needed(setting: Setting) -> None:
    reader = setting.agencies.client_of(setting.center.org, "support_center", scopes="cases.read")
    assert setting.record(reader).status_code == 403
    assert reader.get(f"/v1/cases/{setting.case_id}/services").status_code == 200
