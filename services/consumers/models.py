"""The bookkeeping of the stream consumers: their Kafka offsets and the events they applied.

Both are written in the same transaction as a consumer's effects, so a crash can neither skip
nor repeat an effect, and a replayed stream changes nothing.
"""

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base


class ConsumerOffset(Base):
    """Where a stream consumer stands in one partition, stored in the transaction of its effects,
    so a crash can neither skip nor repeat an effect."""

    __tablename__ = "consumer_offsets"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    topic: Mapped[str] = mapped_column(String(128), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    next_offset: Mapped[int] = mapped_column(BigInteger)
    # The broker's id of the topic the offset belongs to: a recreated topic starts from 0 again.
    topic_id: Mapped[str] = mapped_column(String(64), default="")


class ProcessedEvent(Base):
    """An event a consumer has applied: the record that makes a replay change nothing."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    processed_at: Mapped[datetime]
