from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from services.cases.models import REFERENCE_PREFIX, Case, CaseReferenceSequence
from services.db import dialect_insert


def get(session: Session, case_id: str, *, for_update: bool = False) -> Case | None:
    stmt = select(Case).where(Case.id == case_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def add(session: Session, case: Case) -> None:
    session.add(case)


def next_reference(session: Session, year: int) -> str:
    """`DSC-<year>-<number>`, the next number of that year.

    One upsert that increments and returns the counter: on PostgreSQL the row lock it takes
    makes concurrent openings queue (a new year's first two racing inserts are resolved by
    ON CONFLICT), on SQLite the write lock taken by BEGIN IMMEDIATE does the same. The unique
    constraint on `cases.reference` is the last line of defence.
    """
    table = CaseReferenceSequence.__table__
    assert isinstance(table, Table)
    stmt = (
        dialect_insert(session, table)
        .values(year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[table.c.year], set_={"last_value": table.c.last_value + 1}
        )
        .returning(table.c.last_value)
    )
    number = session.execute(stmt).scalar_one()
    return f"{REFERENCE_PREFIX}-{year}-{number:06d}"
