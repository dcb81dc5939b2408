"""The stats consumer in tests: the relay and the real `stats` consumer running on the test
broker next to a story world, and a wait until it has applied given services' events."""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from sqlalchemy import exists, func, select

from coordination.config import Settings
from coordination.runtime import Runtime
from events.broker import EmbeddedBroker
from events.consumers.stats import StatsConsumer
from services.consumers.models import ProcessedEvent
from services.messages import EVENT_TYPE_PREFIX
from services.outbox.models import OutboxMessage
from services.support.events import ServiceRecorded
from tests.support.stream import make_relay, running, wait_for, with_broker

CHUNK = 500


@contextmanager
def stats_stream(rt: Runtime, settings: Settings, broker: EmbeddedBroker) -> Iterator[None]:
    """The relay and the stats consumer (its real name: the rollup is its alone) in threads."""
    kafka = with_broker(settings, broker)
    with ExitStack() as stack:
        stack.enter_context(running(make_relay(rt, kafka)))
        stack.enter_context(running(StatsConsumer(rt.session_factory, kafka)))
        yield


def unapplied(rt: Runtime, service_ids: list[str]) -> int:
    """How many of these services' `service.recorded` events the stats consumer has not
    applied yet (an event not yet in the outbox counts too)."""
    pending = 0
    with rt.session_factory() as session:
        for at in range(0, len(service_ids), CHUNK):
            chunk = service_ids[at : at + CHUNK]
            applied = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.type == EVENT_TYPE_PREFIX + ServiceRecorded.type,
                    OutboxMessage.subject.in_(chunk),
                    exists().where(
                        ProcessedEvent.consumer == StatsConsumer.name,
                        ProcessedEvent.event_id == OutboxMessage.id,
                    ),
                )
            )
            pending += len(chunk) - int(applied or 0)
    return pending


def wait_until_rolled_up(rt: Runtime, service_ids: list[str], timeout: float = 60.0) -> None:
    wait_for(
        lambda: unapplied(rt, service_ids) == 0,
        timeout,
        f"the stats consumer to apply {len(service_ids)} services",
    )
