"""Conversation ids per channel, linked WhatsApp numbers and inbound
de-duplication (portal.chat_identity), on SQLite and PostgreSQL; and the
numbered options of text-only channels (channels.rendering)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from channels.rendering import chosen_payload, latest_buttons, numbered
from portal import chat_identity as ci
from portal.db import session_scope
from portal.models import User

NOW = datetime(2026, 12, 4, 15, 0)


@pytest.mark.parametrize("sender, channel, external", [
    ("web:42", "web", "42"), ("web-anon:abc123", "web-anon", "abc123"),
    ("wa:5511987654321", "wa", "5511987654321"), ("tw:+5511987654321", "tw", "+5511987654321"),
    ("minha-conversa-1", None, "minha-conversa-1"), ("rest:abc", None, "rest:abc"), ("wa:", None, "wa:"),
])
def test_conversation_ids_say_which_channel_made_them(sender, channel, external):
    assert ci.parse_sender(sender) == ci.Sender(channel, external)
    assert ci.is_reserved(sender) is (channel is not None)


@pytest.mark.parametrize("number, key", [
    ("5511987654321", "551187654321"), ("551187654321", "551187654321"),
    ("+55 (11) 98765-4321", "551187654321"), ("14155238886", "14155238886"),
    ("5511387654321", "5511387654321"),  # 13 digits but no mobile ninth digit: kept
    ("5511934567890", "5511934567890"),  # a 9 before 3: not the landline 551134567890
])
def test_brazilian_mobiles_match_with_and_without_the_ninth_digit(number, key):
    assert ci.number_key(number) == key


@pytest.fixture
def user(demo_db):
    url, _ = demo_db
    with session_scope(url) as session:
        found = session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).first()
        return url, found.id


def test_a_linked_number_is_its_user_until_it_expires_or_is_unlinked(user):
    url, user_id = user
    number = f"551199{uuid.uuid4().int % 10**7:07d}"
    without_nine = number[:4] + number[5:]
    with session_scope(url) as session:
        assert ci.verified_user(session, f"wa:{number}", NOW) is None
        ci.link_number(session, "wa", number, user_id, days=90, now=NOW)
    with session_scope(url) as session:
        assert ci.verified_user(session, f"wa:{without_nine}", NOW) == user_id
        assert ci.verified_user(session, f"tw:+{number}", NOW) is None  # another channel
        assert ci.verified_user(session, f"wa:{number}", NOW + timedelta(days=91)) is None
        ci.link_number(session, "wa", without_nine, user_id, days=90, now=NOW)  # one row per number
        ci.unlink_number(session, "wa", number)
    with session_scope(url) as session:
        assert ci.verified_user(session, f"wa:{without_nine}", NOW) is None


def test_web_ids_are_active_users_and_rest_ids_nobody(user):
    url, user_id = user
    with session_scope(url) as session:
        assert ci.verified_user(session, f"web:{user_id}") == user_id
        assert ci.verified_user(session, "web:999999") is None
        assert ci.verified_user(session, "web:abc") is None
        assert ci.verified_user(session, f"{user_id}") is None
        assert ci.verified_user(session, "web-anon:123") is None


def test_a_message_id_is_processed_once_and_dates_the_last_message(demo_db):
    url, _ = demo_db
    message_id, sender = f"wamid.{uuid.uuid4().hex}", f"55119{uuid.uuid4().int % 10**8:08d}"
    with session_scope(url) as session:
        assert ci.first_delivery(session, "wa", message_id, sender, NOW)
        assert not ci.first_delivery(session, "wa", message_id, sender, NOW)
        assert ci.first_delivery(session, "tw", message_id, sender, NOW)  # ids are per channel
        assert ci.first_delivery(session, "wa", message_id + "-2", sender, NOW + timedelta(hours=2))
    with session_scope(url) as session:
        assert ci.last_message_at(session, "wa", sender) == NOW + timedelta(hours=2)
        assert ci.last_message_at(session, "wa", "ninguem") is None


BUTTONS = [{"title": "Acesso/login", "payload": "Acesso/login"},
           {"title": "Documentos", "payload": "Documentos"},
           {"title": "Abrir um chamado", "payload": "/open_ticket"}]


def test_options_are_numbered_without_their_payloads():
    text = numbered("Sobre qual assunto é o chamado?", BUTTONS)
    assert text == ("Sobre qual assunto é o chamado?\n\n1. Acesso/login\n2. Documentos\n"
                    "3. Abrir um chamado\n\nResponda com o número da opção.")
    assert "/open_ticket" not in text


@pytest.mark.parametrize("reply, payload", [
    ("2", "Documentos"), (" 3. ", "/open_ticket"), ("opção 1", "Acesso/login"), ("abrir um CHAMADO", "/open_ticket"),
    ("4", None), ("0", None), ("documentos fiscais", None), ("", None),
])
def test_an_answer_by_number_or_title_is_the_option(reply, payload):
    assert chosen_payload(reply, BUTTONS) == payload
    assert chosen_payload(reply, []) is None


def test_the_options_are_those_offered_since_the_customer_last_wrote():
    events = [{"event": "bot", "text": "velha", "data": {"buttons": BUTTONS[:1]}},
              {"event": "user", "text": "oi"},
              {"event": "bot", "text": "Sobre qual assunto?", "data": {"buttons": BUTTONS}},
              {"event": "bot", "text": "sem botões", "data": {}}]
    assert latest_buttons(events) == BUTTONS
    assert latest_buttons(events + [{"event": "user", "text": "2"}]) == []
