from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.orgs.models import Org


def list_orgs(session: Session) -> Sequence[Org]:
    return session.scalars(select(Org).order_by(Org.id)).all()
