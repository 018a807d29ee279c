"""What consent renewal reads: the consents that end soon and were not asked about yet."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, String, cast, literal, select

from fairwell.ports.portal import RENEWAL_KEY, Expiring
from fairwell.ports.portal import renewal_key as renewal_key
from fairwell.storage.tables import applications, consents, jobs, outbox, persons


class SqlRenewals:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def due(self, now: datetime, ends_by: datetime) -> list[Expiring]:
        """Consents in force that end by ``ends_by``, of people not erased, not yet asked."""
        asked = select(outbox.c.id).where(
            outbox.c.letter_key == literal(RENEWAL_KEY, String) + cast(consents.c.id, String)
        )
        query = (
            select(
                consents.c.id.label("consent_id"),
                consents.c.person_id,
                consents.c.application_id,
                applications.c.job_id,
                jobs.c.title.label("job_title"),
                consents.c.until,
            )
            .join(persons, persons.c.id == consents.c.person_id)
            .join(applications, applications.c.id == consents.c.application_id)
            .join(jobs, jobs.c.id == applications.c.job_id)
            .where(
                consents.c.withdrawn_at.is_(None),
                consents.c.until > now,
                consents.c.until <= ends_by,
                persons.c.erased_at.is_(None),
                ~asked.exists(),
            )
            .order_by(consents.c.id)
        )
        with self.engine.connect() as conn:
            return [Expiring(**row._mapping) for row in conn.execute(query)]
