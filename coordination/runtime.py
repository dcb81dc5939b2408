"""What a running app holds: settings, the database and the clock, reachable from any view."""

from dataclasses import dataclass
from typing import Any, cast

from flask import Flask, current_app
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from coordination.config import Settings
from services.actor import SYSTEM, Actor
from services.clock import Clock, SystemClock
from services.db import make_engine, make_session_factory
from services.unit_of_work import SharedTransaction, UnitOfWork

EXTENSION = "coordination"


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Any]
    clock: Clock

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> "Runtime":
        engine = make_engine(settings.database_url)
        return cls(settings, engine, make_session_factory(engine), clock or SystemClock())

    def uow(
        self, actor: Actor = SYSTEM, request_id: str = "", joins: SharedTransaction | None = None
    ) -> UnitOfWork:
        return UnitOfWork(
            self.session_factory, self.clock, actor=actor, request_id=request_id, joins=joins
        )


def runtime(app: Flask | None = None) -> Runtime:
    return cast(Runtime, (app or current_app).extensions[EXTENSION])
