"""Who is on the other side of a conversation, as far as a channel can tell.

Conversation ids (Rasa's ``sender_id``) are namespaced by the channel that
made them, and only that channel makes them:

    web:<user id>        the website widget, from a verified portal JWT
    web-anon:<random>    the website widget, anonymous (server-issued id)
    wa:<wa_id>           WhatsApp Cloud API, the id exactly as Meta sends it
    tw:<+number>         WhatsApp through Twilio

The REST channel refuses these prefixes, so a client cannot claim someone
else's conversation. A WhatsApp number verified once with the CPF and the
e-mailed code stays linked to that user for ``WHATSAPP_LINK_DAYS``; Brazilian
mobile numbers match with and without the ninth digit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.models import ChatIdentity, InboundMessage, Reseller, Role, User, utcnow

WEB = "web"
WEB_ANONYMOUS = "web-anon"
WHATSAPP = "wa"
TWILIO = "tw"
PREFIXES = (WEB, WEB_ANONYMOUS, WHATSAPP, TWILIO)
# Channels whose number can be linked to a user after a verified code.
NUMBER_CHANNELS = (WHATSAPP, TWILIO)


@dataclass(frozen=True)
class Sender:
    channel: str | None  # one of PREFIXES, or None (REST, tests)
    external_id: str


def parse_sender(sender_id: str) -> Sender:
    prefix, sep, rest = (sender_id or "").partition(":")
    if sep and prefix in PREFIXES and rest:
        return Sender(prefix, rest)
    return Sender(None, sender_id or "")


def sender_id(channel: str, external_id: str) -> str:
    return f"{channel}:{external_id}"


def is_reserved(sender: str) -> bool:
    """A conversation id that only a channel may create."""
    return parse_sender(sender).channel is not None


def number_key(number: str) -> str:
    """The same key for a Brazilian mobile with or without its ninth digit.

    "+55 11 98765-4321" and "551187654321" -> "551187654321". Other numbers
    keep their digits as they are.
    """
    n = re.sub(r"\D", "", number or "")
    # A mobile's ninth digit comes before one of 6-9; "55 11 9 3xxx-xxxx"
    # would otherwise collide with the landline "55 11 3xxx-xxxx".
    if len(n) == 13 and n.startswith("55") and n[4] == "9" and n[5] in "6789":
        return n[:4] + n[5:]
    return n


def link_number(session: Session, channel: str, number: str, user_id: int, days: int,
                now: datetime | None = None) -> None:
    """Remembers that this number is ``user_id`` (after a verified code)."""
    now = now or utcnow()
    key = number_key(number)
    link = session.scalar(select(ChatIdentity).where(ChatIdentity.channel == channel,
                                                     ChatIdentity.external_id == key))
    if link is None:
        link = ChatIdentity(channel=channel, external_id=key)
        session.add(link)
    link.user_id, link.verified_at, link.expires_at = user_id, now, now + timedelta(days=days)
    session.flush()


def unlink_number(session: Session, channel: str, number: str) -> None:
    session.execute(delete(ChatIdentity).where(ChatIdentity.channel == channel,
                                               ChatIdentity.external_id == number_key(number)))


def verified_user(session: Session, sender: str, now: datetime | None = None) -> int | None:
    """The active user a conversation id stands for, if its channel verified one."""
    parsed = parse_sender(sender)
    if parsed.channel == WEB:
        user_id = int(parsed.external_id) if parsed.external_id.isdigit() else None
        return session.scalar(select(User.id).where(User.id == user_id, User.active.is_(True)))
    if parsed.channel in NUMBER_CHANNELS:
        return session.scalar(
            select(User.id).join(ChatIdentity, ChatIdentity.user_id == User.id).where(
                ChatIdentity.channel == parsed.channel,
                ChatIdentity.external_id == number_key(parsed.external_id),
                ChatIdentity.expires_at > (now or utcnow()),
                User.active.is_(True)))
    return None


def portal_user(session: Session, cpf: str, cnpj: str, role: str) -> int | None:
    """The active user the portal's chat token names: that CPF, in the reseller
    with that CNPJ, with that profile; None if any of it does not match."""
    return session.scalar(
        select(User.id).join(Reseller, Reseller.id == User.reseller_id).where(
            User.cpf == cpf, Reseller.cnpj == cnpj, User.role == Role(role), User.active.is_(True)))


def first_delivery(session: Session, channel: str, message_id: str, sender: str,
                   now: datetime | None = None) -> bool:
    """True the first time a channel sees this message id; False for a retry."""
    try:
        with session.begin_nested():
            session.add(InboundMessage(channel=channel, message_id=message_id[:200], sender=sender[:120],
                                       received_at=now or utcnow()))
            session.flush()
    except IntegrityError:
        return False
    return True


def last_message_at(session: Session, channel: str, sender: str) -> datetime | None:
    """When this sender last wrote on this channel (WhatsApp's 24-hour window)."""
    return session.scalar(select(func.max(InboundMessage.received_at)).where(
        InboundMessage.channel == channel, InboundMessage.sender == sender))
