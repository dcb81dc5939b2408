from sqlalchemy.orm import Session

from services.support.models import SupportService


def add(session: Session, service: SupportService) -> None:
    session.add(service)
