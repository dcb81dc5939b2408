"""Victim identity, encrypted with the case's own data key; the key wrapped by the master key.

The two live in separate tables on purpose: the keys table is the one thing erasure must
destroy, and it could move to a separate key store without touching the data table.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base


class CaseKey(Base):
    """A case's data key, wrapped. `wrapped_key` is NULL once destroyed: erasure is final."""

    __tablename__ = "case_keys"

    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"), primary_key=True)
    master_key_id: Mapped[str | None] = mapped_column(String(32))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    destroyed_at: Mapped[datetime | None] = mapped_column(default=None)


class VictimIdentity(Base):
    """Name and contact of the victim (and guardian), as one AES-GCM ciphertext."""

    __tablename__ = "victim_identities"

    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]
