from sqlalchemy.orm import Session

from services.orgs.models import Org


def get(session: Session, org_id: str) -> Org | None:
    return session.get(Org, org_id)
