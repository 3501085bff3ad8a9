"""Figures for the console's insights page.

Tickets come from the portal database. How the assistant does comes from
Rasa's SQL tracker store (table ``events``: id, sender_id, type_name,
timestamp as a UNIX float, intent_name, action_name, data as JSON text),
which this module only reads: it never creates a table or a file there.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import (Column, Float, Integer, MetaData, String, Table, Text, create_engine, func, inspect,
                        or_, select)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from portal.models import Ticket, TicketCategory, TicketStatus
from portal.tickets import counts_by

FAILED_INTENTS = ("nlu_fallback", "out_of_scope")
NOT_UNDERSTOOD_ACTION = "action_not_understood"

_events = Table(
    "events", MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


@dataclass(frozen=True)
class TicketFigures:
    total: int
    by_category: dict[TicketCategory, int]
    by_status: dict[TicketStatus, int]
    from_fallback: int  # tickets opened after turns the assistant did not understand

    @property
    def fallback_share(self) -> float:
        return self.from_fallback / self.total if self.total else 0.0


@dataclass(frozen=True)
class Question:
    text: str  # as a customer wrote it (the most recent form)
    count: int


@dataclass(frozen=True)
class ChatFigures:
    days: int
    user_turns: int
    failed_turns: int
    unanswered: list[Question]

    @property
    def fallback_rate(self) -> float:
        return self.failed_turns / self.user_turns if self.user_turns else 0.0


def ticket_figures(session: Session) -> TicketFigures:
    by_category = counts_by(session, Ticket.category)
    by_status = counts_by(session, Ticket.status)
    from_fallback = session.scalar(select(func.count()).select_from(Ticket).where(
        func.json_array_length(Ticket.failed_turns) > 0))
    return TicketFigures(
        total=sum(by_status.values()),
        by_category={c: by_category.get(c, 0) for c in TicketCategory},
        by_status={s: by_status.get(s, 0) for s in TicketStatus},
        from_fallback=from_fallback,
    )


def normalize_question(text: str) -> str:
    """What makes two questions the same: case, accents, spacing and the
    punctuation at the ends do not."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", plain).strip(" ?!.,;:")


def _read_only_engine(url: str):
    """An engine that cannot write; None when a SQLite file is not there (yet)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, future=True, pool_pre_ping=True,
                             execution_options={"postgresql_readonly": True})
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, future=True, pool_pre_ping=True)
    path = Path(parsed.database or "")
    if not parsed.database or parsed.database == ":memory:" or not path.is_file():
        return None
    uri = f"{path.resolve().as_uri()}?mode=ro"
    return create_engine("sqlite://", future=True,
                         creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False))


def chat_figures(url: str, now: datetime, days: int = 30, top: int = 10) -> ChatFigures | None:
    """The fallback rate of the last ``days`` and the ``top`` questions the
    assistant could not answer; None when there are no conversations stored."""
    engine = _read_only_engine(url)
    if engine is None:
        return None
    since = (now.replace(tzinfo=timezone.utc) - timedelta(days=days)).timestamp()
    user_turns = (_events.c.type_name == "user") & (_events.c.timestamp >= since)
    # A turn failed when the assistant answered it as not understood. A CPF
    # or a name typed into a form also has no intent of its own, but the form
    # took it: what decides is the first action after the message (None
    # when the next event is another message, as while an agent has the chat).
    after = _events.alias("after")
    answered_by = (select(after.c.action_name)
                   .where(after.c.sender_id == _events.c.sender_id, after.c.id > _events.c.id,
                          after.c.type_name.in_(("user", "action")),
                          or_(after.c.action_name.is_(None), after.c.action_name != "action_listen"))
                   .order_by(after.c.id).limit(1).scalar_subquery())
    failed = (user_turns & _events.c.intent_name.in_(FAILED_INTENTS)
              & (answered_by == NOT_UNDERSTOOD_ACTION))
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("events"):
                return None
            total = connection.scalar(select(func.count()).select_from(_events).where(user_turns))
            failed_count = connection.scalar(select(func.count()).select_from(_events).where(failed))
            rows = connection.execute(select(_events.c.data).where(failed)
                                      .order_by(_events.c.timestamp.desc())).scalars()
            counts: Counter[str] = Counter()
            examples: dict[str, str] = {}
            for data in rows:
                text = (json.loads(data or "{}").get("text") or "").strip()
                key = normalize_question(text)
                if not key or text.startswith("/"):
                    continue
                counts[key] += 1
                examples.setdefault(key, text)
    finally:
        engine.dispose()
    return ChatFigures(days, total, failed_count,
                       [Question(examples[key], count) for key, count in counts.most_common(top)])
