from sqlalchemy.orm import Session

from services.clients.models import OAuthClient, RevokedToken, UsedAssertion


def get(session: Session, client_id: str) -> OAuthClient | None:
    return session.get(OAuthClient, client_id)


def get_revoked(session: Session, jti: str) -> RevokedToken | None:
    return session.get(RevokedToken, jti)


def get_used_assertion(session: Session, client_id: str, jti: str) -> UsedAssertion | None:
    return session.get(UsedAssertion, (client_id, jti))
