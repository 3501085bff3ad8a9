"""Delivery to other systems, with retries, from rows stored by their cause.

A ticket and the work it causes for another system (the helpdesk, a chat
channel) are committed together with ``enqueue``; ``deliver_due`` later hands
each item to the handler of its kind. The outbox knows nothing of what a kind
means: handlers do.

Delivery is at least once. An item is claimed with a conditional UPDATE that
sets a lease, so several workers never send it at the same time; if a worker
dies after sending but before recording it, the lease runs out and the item is
sent again. Handlers therefore pass ``Delivery.key`` on as an idempotency key.

The handler runs with no transaction open: a slow remote system must not hold
database locks (SQLite has one writer) or connections.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable, Mapping

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from portal.db import session_scope
from portal.models import OutboxItem, utcnow

log = logging.getLogger(__name__)

# With backoff() below, 20 attempts span about 10 hours: an outage of a working
# day is survived, a permanently broken item shows up in the console the same day.
MAX_ATTEMPTS = 20
LEASE = timedelta(seconds=60)


class PermanentError(Exception):
    """A failure that retrying cannot fix (the remote system rejected the data)."""


@dataclass(frozen=True)
class Delivery:
    """What a handler gets: a copy of the item, not the ORM row, because the
    handler runs after the claiming transaction has closed."""

    id: int
    kind: str
    key: str
    payload: dict
    ticket_id: int | None
    conversation: str | None
    attempts: int  # including this one


Handler = Callable[[Delivery], "str | None"]


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def enqueue(session: Session, kind: str, key: str, payload: dict, ticket_id: int | None = None,
            conversation: str | None = None, now: datetime | None = None) -> OutboxItem:
    """Add an item in the caller's transaction; an existing ``key`` wins, so
    repeating the cause (a retried request) never sends twice."""
    existing = session.scalar(select(OutboxItem).where(OutboxItem.key == key))
    if existing is not None:
        return existing
    at = now or utcnow()
    item = OutboxItem(kind=kind, key=key, payload=payload, ticket_id=ticket_id,
                      conversation=conversation, created_at=at, attempts=0, next_attempt_at=at)
    session.add(item)
    session.flush()
    return item


def backoff(attempt: int, base: float = 5, cap: float = 3600) -> timedelta:
    """The wait after failed attempt number ``attempt`` (1, 2, ...): doubling
    from ``base`` seconds up to ``cap``, minus up to 20% at random so items that
    failed together (one outage) do not all come back in the same second."""
    delay = min(cap, base * 2 ** (attempt - 1))
    return timedelta(seconds=delay * random.uniform(0.8, 1.0))


def _open():
    return and_(OutboxItem.sent_at.is_(None), OutboxItem.failed_at.is_(None))


def _claimable(now: datetime):
    return and_(_open(), OutboxItem.next_attempt_at <= now,
                or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until < now))


def _due(url: str | None, kinds, now: datetime, limit: int, conversation: str | None) -> list[Delivery]:
    """Claimable items, oldest first, except those waiting behind an earlier
    open item of their conversation (messages must arrive in order)."""
    earlier = aliased(OutboxItem)
    blocked = exists().where(
        earlier.conversation == OutboxItem.conversation,
        earlier.id < OutboxItem.id,
        earlier.sent_at.is_(None),
        earlier.failed_at.is_(None),
    )
    query = (select(OutboxItem)
             .where(_claimable(now), OutboxItem.kind.in_(list(kinds)), ~blocked)
             .order_by(OutboxItem.id).limit(limit))
    if conversation is not None:
        query = query.where(OutboxItem.conversation == conversation)
    with session_scope(url) as session:
        return [Delivery(id=i.id, kind=i.kind, key=i.key, payload=dict(i.payload),
                         ticket_id=i.ticket_id, conversation=i.conversation, attempts=i.attempts)
                for i in session.scalars(query)]


def _claim(url: str | None, item: Delivery, now: datetime, lease: timedelta) -> Delivery | None:
    """Take the item for ``lease``; None when another worker got it first.

    The WHERE repeats the claim condition and the attempts we saw, so of
    several workers racing for one row exactly one UPDATE matches it.
    """
    with session_scope(url) as session:
        claimed = session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item.id, OutboxItem.attempts == item.attempts, _claimable(now))
            .values(claimed_until=now + lease, attempts=OutboxItem.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount == 1
    return replace(item, attempts=item.attempts + 1) if claimed else None


def _record(url: str | None, item: Delivery, **values) -> None:
    """Store the outcome, unless the lease ran out and another claim (more
    attempts) has taken over: the current owner records its own outcome."""
    with session_scope(url) as session:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item.id, OutboxItem.attempts == item.attempts, _open())
            .values(claimed_until=None, **values)
            .execution_options(synchronize_session=False)
        )


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def _deliver(url: str | None, handler: Handler, item: Delivery, now: Callable[[], datetime],
             report: DeliveryReport) -> None:
    try:
        result = handler(item)
    except Exception as error:
        permanent = isinstance(error, PermanentError) or item.attempts >= MAX_ATTEMPTS
        if permanent:
            log.error("outbox item %s (%s) failed for good: %s", item.id, item.kind, error)
            _record(url, item, failed_at=now(), last_error=_describe(error))
            report.failed += 1
        else:
            log.warning("outbox item %s (%s) attempt %s failed: %s",
                        item.id, item.kind, item.attempts, error)
            _record(url, item, next_attempt_at=now() + backoff(item.attempts),
                    last_error=_describe(error))
            report.retried += 1
        return
    _record(url, item, sent_at=now(), result=result, last_error=None)
    report.sent += 1


def deliver_due(url: str | None, handlers: Mapping[str, Handler],
                now: Callable[[], datetime] = utcnow, limit: int = 20,
                lease: timedelta = LEASE, conversation: str | None = None) -> DeliveryReport:
    """One round: claim, deliver and record each due item of a handled kind
    (only those of ``conversation`` when given).

    Items are claimed one at a time, right before delivery, so a slow handler
    cannot make the lease of items further down the batch run out.
    """
    report = DeliveryReport()
    for item in _due(url, handlers.keys(), now(), limit, conversation):
        claimed = _claim(url, item, now(), lease)
        if claimed is not None:
            _deliver(url, handlers[item.kind], claimed, now, report)
    return report


def pending_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxItem).where(_open()))


def failures(session: Session, limit: int = 20) -> list[OutboxItem]:
    """Items that will not be retried, newest first: what the console shows."""
    return session.scalars(
        select(OutboxItem).where(OutboxItem.failed_at.is_not(None))
        .order_by(OutboxItem.failed_at.desc(), OutboxItem.id.desc()).limit(limit)
    ).all()


def run_forever(url: str | None, handlers: Mapping[str, Handler], interval: float,
                stop: threading.Event, before_round: Callable[[], None] | None = None) -> None:
    """Deliver every ``interval`` seconds until ``stop`` is set (a background
    thread), after ``before_round`` (work that may enqueue items). A failing
    round (database down) is logged and the loop goes on: a dead worker would
    silently stop every delivery."""
    while not stop.is_set():
        try:
            if before_round is not None:
                before_round()
            deliver_due(url, handlers)
        except Exception:
            log.exception("outbox delivery round failed")
        stop.wait(interval)
