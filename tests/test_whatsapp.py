"""The WhatsApp Cloud API channel (channels/whatsapp.py), end to end.

Webhooks are posted in Meta's documented shapes, signed with the stack's app
secret, to the real Rasa server; what Meta would have received is read from
the Graph API stand-in (``stack.standin``). The output channel is also driven
directly (no Rasa) for what the assistant's answers never produce: more than
10 options, long texts and titles, images, custom JSON, the 24-hour template.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, update

from conftest import CHANNEL_SETTINGS
from devtools import maildir
from portal import ids
from portal.db import session_scope
from portal.models import InboundMessage, Order, OrderStatus, Role, User, utcnow
from test_server import response_text

SECRET = CHANNEL_SETTINGS["WHATSAPP_APP_SECRET"]
PHONE_NUMBER_ID = CHANNEL_SETTINGS["WHATSAPP_PHONE_NUMBER_ID"]
UNSUPPORTED = "Por enquanto eu só consigo ler mensagens de texto. 🙂 Pode escrever sua dúvida?"
CATEGORIES = ["Acesso/login", "Documentos", "Pedidos", "Pagamentos", "Outro assunto"]


# --- Meta's webhook shapes -------------------------------------------------------

def new_wa_id() -> str:
    return "55119" + "".join(random.choice("0123456789") for _ in range(8))


def new_message_id() -> str:
    return "wamid.HBgN" + uuid.uuid4().hex.upper()


def envelope(value: dict) -> dict:
    return {"object": "whatsapp_business_account", "entry": [{
        "id": "102290129340398",
        "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "5511930000000", "phone_number_id": PHONE_NUMBER_ID},
            **value}}]}]}


def inbound(wa_id: str, kind: str, content: dict, message_id: str | None = None) -> dict:
    return envelope({
        "contacts": [{"profile": {"name": "Revenda Teste"}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": message_id or new_message_id(),
                      "timestamp": str(int(time.time())), "type": kind, kind: content}],
    })


def text(wa_id: str, body: str, message_id: str | None = None) -> dict:
    return inbound(wa_id, "text", {"body": body}, message_id)


def tapped(wa_id: str, reply_kind: str, option_id: str, title: str) -> dict:
    return inbound(wa_id, "interactive", {"type": reply_kind, reply_kind: {"id": option_id, "title": title}})


def status(wa_id: str, state: str) -> dict:
    entry = {"id": new_message_id(), "status": state, "timestamp": str(int(time.time())),
             "recipient_id": wa_id}
    if state == "failed":
        entry["errors"] = [{"code": 131026, "title": "Message undeliverable"}]
    return envelope({"statuses": [entry]})


def signature(raw: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def post(stack, body, sign: bool | str = True) -> requests.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if sign is True:
        headers["X-Hub-Signature-256"] = signature(raw)
    elif sign:
        headers["X-Hub-Signature-256"] = sign
    return requests.post(f"{stack.rasa_url}/webhooks/whatsapp/webhook", data=raw, headers=headers,
                         timeout=10)


# --- What Meta received ------------------------------------------------------------

def shown(request: dict) -> str:
    """The text a customer reads in a message sent to the Graph API."""
    message = request["json"] or {}
    kind = message.get("type")
    if kind == "text":
        return message["text"]["body"]
    if kind == "interactive":
        return message["interactive"]["body"]["text"]
    if kind == "template":
        return message["template"]["components"][0]["parameters"][0]["text"]
    return ""


def to(wa_id: str, containing: str = "", kind: str | None = None):
    def matches(request: dict) -> bool:
        message = request["json"] or {}
        return (request["path"].endswith("/messages") and not request["failed"]
                and message.get("to") == wa_id and (kind is None or message.get("type") == kind)
                and containing in shown(request))
    return matches


def wait_sent(stack, wa_id: str, containing: str = "", kind: str | None = None, count: int = 1) -> list[dict]:
    return stack.standin.wait_for(to(wa_id, containing, kind), count=count, timeout=40)


def say(stack, wa_id: str, body: str, expect: str = "", kind: str | None = None) -> dict:
    """Sends a text and waits for the (next) message to this number that contains ``expect``."""
    before = len(stack.standin.received(to(wa_id, expect, kind)))
    assert post(stack, text(wa_id, body)).status_code == 200
    return wait_sent(stack, wa_id, expect, kind, count=before + 1)[-1]


def quiet(stack, seconds: float = 1.0, timeout: float = 30) -> None:
    """Waits until nothing has reached the stand-in for ``seconds`` (earlier tests' replies)."""
    deadline = time.monotonic() + timeout
    seen, since = len(stack.standin.received()), time.monotonic()
    while time.monotonic() - since < seconds and time.monotonic() < deadline:
        time.sleep(0.1)
        now = len(stack.standin.received())
        if now != seen:
            seen, since = now, time.monotonic()


@pytest.fixture
def fail_next(stack):
    """``stack.standin.fail_next`` once earlier replies are out (the script is
    shared by every request); what a failing test left unused is dropped."""
    quiet(stack)
    yield stack.standin.fail_next
    with stack.standin.lock:
        stack.standin.script.clear()


def tracker(stack, sender: str) -> dict:
    return requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker",
                        params={"token": stack.auth_token}, timeout=10).json()


def user_texts(stack, sender: str) -> list[str]:
    return [e.get("text") for e in tracker(stack, sender)["events"] if e["event"] == "user"]


def settled(read, expected, timeout: float = 10):
    """``read()`` once it equals ``expected`` (Rasa saves the conversation
    just after sending the replies), or its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def assert_user_said(stack, wa_id: str, expected: list[str]) -> None:
    """What the conversation ``wa:<wa_id>`` recorded from the customer."""
    assert settled(lambda: user_texts(stack, f"wa:{wa_id}"), expected) == expected


def assert_last_user_text(stack, wa_id: str, expected: str) -> None:
    assert settled(lambda: user_texts(stack, f"wa:{wa_id}")[-1:], [expected]) == [expected]


def append_bot(stack, wa_id: str, message: dict) -> requests.Response:
    return requests.post(
        f"{stack.rasa_url}/conversations/wa:{wa_id}/tracker/events",
        params={"token": stack.auth_token, "execute_side_effects": "true", "output_channel": "latest"},
        json=[{"event": "bot", **message}], timeout=60)


# --- Verification and the webhook's checks -------------------------------------------------

def test_meta_verification_answers_the_challenge_only_to_the_right_token(stack):
    url = f"{stack.rasa_url}/webhooks/whatsapp/webhook"
    good = {"hub.mode": "subscribe", "hub.verify_token": CHANNEL_SETTINGS["WHATSAPP_VERIFY_TOKEN"],
            "hub.challenge": "1158201444"}
    answer = requests.get(url, params=good, timeout=10)
    assert answer.status_code == 200 and answer.text == "1158201444"
    assert answer.headers["Content-Type"].startswith("text/plain")
    for wrong in ({**good, "hub.verify_token": "outro-token"}, {**good, "hub.mode": "unsubscribe"},
                  {"hub.challenge": "1158201444"}):
        refused = requests.get(url, params=wrong, timeout=10)
        assert refused.status_code == 403 and "1158201444" not in refused.text


def test_unsigned_forged_and_malformed_webhooks_are_refused_and_never_answered(stack):
    wa_id = new_wa_id()
    body = text(wa_id, "esqueci minha senha")
    raw = json.dumps(body).encode()
    assert post(stack, body, sign=False).status_code == 403
    assert post(stack, body, sign=signature(raw, "not-the-app-secret")).status_code == 403
    assert post(stack, body, sign="sha256=").status_code == 403
    assert post(stack, body, sign=signature(raw).replace("sha256=", "sha1=")).status_code == 403
    # Signed, but the signed body was changed on the way.
    assert post(stack, raw.replace(b"senha", b"senhA"), sign=signature(raw)).status_code == 403
    # Signed but not what Meta sends.
    for bad in (b"{not json", "\xff\xfe".encode("latin-1"), b"[" * 200_000, b"[]",
                b'{"object": "page", "entry": []}',
                json.dumps({"object": "whatsapp_business_account", "entry": {"changes": []}}).encode(),
                json.dumps(envelope({"messages": [{"from": wa_id, "type": "text"}]})).encode(),
                json.dumps(envelope({"messages": [{"from": "55 11 <x>", "id": new_message_id(),
                                                   "type": "text", "text": {"body": "oi"}}]})).encode(),
                json.dumps(inbound(wa_id, "text", {"body": 42})).encode()):
        assert post(stack, bad).status_code == 400, bad
    # Over 256 KB: refused before parsing, signature or not.
    big = json.dumps(text(wa_id, "a" * (257 * 1024))).encode()
    assert post(stack, big).status_code == 413
    # None of the refused requests reached the assistant: the next real message
    # is the first thing this number is answered.
    say(stack, wa_id, "quais sao os perfis de usuario?", "3 tipos de perfil")
    assert len(stack.standin.received(to(wa_id))) == 1
    assert_user_said(stack, wa_id, ["quais sao os perfis de usuario?"])


# --- Conversations --------------------------------------------------------------------

def test_a_text_is_answered_to_the_same_wa_id_through_the_graph_api(stack):
    wa_id = new_wa_id()
    started = time.monotonic()
    assert post(stack, text(wa_id, "quais sao os perfis de usuario?")).status_code == 200
    assert time.monotonic() - started < 2  # Meta gets its 200 before the NLU runs
    sent = wait_sent(stack, wa_id)[0]
    assert sent["path"] == f"/graph/v21.0/{PHONE_NUMBER_ID}/messages"
    assert sent["headers"]["Authorization"] == f"Bearer {CHANNEL_SETTINGS['WHATSAPP_ACCESS_TOKEN']}"
    assert sent["json"] == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": wa_id,
                            "type": "text",
                            "text": {"body": response_text("utter_faq_profile_types"), "preview_url": True}}
    assert_user_said(stack, wa_id, ["quais sao os perfis de usuario?"])
    conversation = tracker(stack, f"wa:{wa_id}")
    assert conversation["latest_input_channel"] == "whatsapp"
    user = [e for e in conversation["events"] if e["event"] == "user"]
    assert [e["text"] for e in user] == ["quais sao os perfis de usuario?"]
    assert set(user[0].get("metadata") or {}) <= {"model_id", "assistant_id"}  # nothing from the client


def test_an_faq_with_a_ticket_button_arrives_as_an_interactive_button(stack):
    wa_id = new_wa_id()
    sent = say(stack, wa_id, "esqueci minha senha", "Recuperar minha senha")
    assert shown(sent) == response_text("utter_faq_forgot_password")
    assert sent["json"]["interactive"]["type"] == "button"
    assert sent["json"]["interactive"]["action"]["buttons"] == [
        {"type": "reply", "reply": {"id": "/open_ticket", "title": "Abrir um chamado"}}]


def test_ticket_subjects_arrive_as_a_list_and_a_chosen_row_moves_the_ticket_on(stack):
    wa_id = new_wa_id()
    sent = say(stack, wa_id, "quero abrir um chamado", "Sobre qual assunto é o chamado?")
    interactive = sent["json"]["interactive"]
    assert interactive["type"] == "list" and interactive["action"]["button"] == "Ver opções"
    rows = interactive["action"]["sections"][0]["rows"]
    assert [r["title"] for r in rows] == CATEGORIES
    assert [r["id"] for r in rows] == CATEGORIES  # the payloads themselves
    before = len(stack.standin.received(to(wa_id)))
    assert post(stack, tapped(wa_id, "list_reply", rows[1]["id"], rows[1]["title"])).status_code == 200
    asked = wait_sent(stack, wa_id, count=before + 1)[-1]
    assert shown(asked) == response_text("utter_ask_ticket_description")
    assert_last_user_text(stack, wa_id, "Documentos")


def test_a_typed_number_picks_the_option_of_the_latest_message(stack):
    wa_id = new_wa_id()
    say(stack, wa_id, "quero abrir um chamado", "Sobre qual assunto é o chamado?")
    asked = say(stack, wa_id, "2", response_text("utter_ask_ticket_description"))
    assert asked["json"]["type"] == "text"
    assert_last_user_text(stack, wa_id, "Documentos")


def test_two_misunderstood_messages_offer_two_buttons_and_one_opens_a_ticket(stack):
    wa_id = new_wa_id()
    say(stack, wa_id, "qual a previsao do tempo pra amanha em sao paulo?")
    sent = say(stack, wa_id, "me conta uma piada de papagaio", response_text("utter_default"))
    interactive = sent["json"]["interactive"]
    assert interactive["type"] == "button"
    buttons = [b["reply"] for b in interactive["action"]["buttons"]]
    assert buttons == [{"id": "/open_ticket", "title": "Abrir um chamado"},
                       {"id": "/talk_to_human", "title": "Falar com uma pessoa"}]
    before = len(stack.standin.received(to(wa_id, "Sobre qual assunto")))
    assert post(stack, tapped(wa_id, "button_reply", buttons[0]["id"], buttons[0]["title"])).status_code == 200
    wait_sent(stack, wa_id, "Sobre qual assunto", "interactive", count=before + 1)


def test_a_template_quick_reply_sends_its_payload(stack):
    wa_id = new_wa_id()
    say(stack, wa_id, "oi")
    before = len(stack.standin.received(to(wa_id)))
    body = inbound(wa_id, "button", {"payload": "/faq_profile_types", "text": "Perfis"})
    assert post(stack, body).status_code == 200
    assert shown(wait_sent(stack, wa_id, count=before + 1)[-1]) == response_text("utter_faq_profile_types")
    assert_last_user_text(stack, wa_id, "/faq_profile_types")


def test_more_than_ten_options_go_as_numbered_text_and_the_number_comes_back_as_the_payload(stack):
    wa_id = new_wa_id()
    say(stack, wa_id, "oi")
    options = [{"title": f"Assunto {n}", "payload": "/faq_add_user"} for n in range(1, 11)]
    options.append({"title": "Perfis de usuário", "payload": "/faq_profile_types"})
    answer = append_bot(stack, wa_id, {"text": "Sobre o que você quer saber?", "data": {"buttons": options}})
    assert answer.status_code == 200
    sent = wait_sent(stack, wa_id, "Sobre o que você quer saber?")[0]
    assert sent["json"]["type"] == "text"
    assert "\n11. Perfis de usuário\n" in shown(sent) and "/faq" not in shown(sent)
    reply = say(stack, wa_id, "11", "3 tipos de perfil")
    assert shown(reply) == response_text("utter_faq_profile_types")
    assert_last_user_text(stack, wa_id, "/faq_profile_types")


def test_media_gets_a_polite_text_without_reaching_the_assistant(stack):
    wa_id = new_wa_id()
    for kind, content in [("image", {"mime_type": "image/jpeg", "sha256": "abc", "id": "1234"}),
                          ("audio", {"mime_type": "audio/ogg", "id": "5678", "voice": True}),
                          ("sticker", {"mime_type": "image/webp", "id": "9012", "animated": False}),
                          ("location", {"latitude": -23.55, "longitude": -46.63})]:
        before = len(stack.standin.received(to(wa_id, UNSUPPORTED)))
        assert post(stack, inbound(wa_id, kind, content)).status_code == 200
        sent = wait_sent(stack, wa_id, UNSUPPORTED, count=before + 1)[-1]
        assert sent["json"]["text"]["body"] == UNSUPPORTED
    assert_user_said(stack, wa_id, [])
    # A photo with a caption is the caption.
    captioned = inbound(wa_id, "image", {"id": "3456", "mime_type": "image/jpeg",
                                         "caption": "quais sao os perfis de usuario?"})
    assert post(stack, captioned).status_code == 200
    wait_sent(stack, wa_id, "3 tipos de perfil")


def test_the_same_message_id_posted_again_is_answered_once(stack):
    wa_id, message_id = new_wa_id(), new_message_id()
    for _ in range(3):  # Meta's retries
        assert post(stack, text(wa_id, "esqueci minha senha", message_id)).status_code == 200
    wait_sent(stack, wa_id, "Recuperar minha senha")
    say(stack, wa_id, "quais sao os perfis de usuario?", "3 tipos de perfil")  # processed after the retries
    assert len(stack.standin.received(to(wa_id, "Recuperar minha senha"))) == 1
    assert_user_said(stack, wa_id, ["esqueci minha senha", "quais sao os perfis de usuario?"])


def test_status_callbacks_are_accepted_and_answer_nothing(stack):
    wa_id = new_wa_id()
    for state in ("sent", "delivered", "read", "failed"):
        assert post(stack, status(wa_id, state)).status_code == 200
    say(stack, wa_id, "quais sao os perfis de usuario?", "3 tipos de perfil")
    assert len(stack.standin.received(to(wa_id))) == 1


def test_messages_of_one_webhook_are_answered_in_order(stack):
    wa_id = new_wa_id()
    body = text(wa_id, "quais sao os perfis de usuario?")
    messages = body["entry"][0]["changes"][0]["value"]["messages"]
    messages.append({**messages[0], "id": new_message_id(), "text": {"body": "esqueci minha senha"}})
    assert post(stack, body).status_code == 200
    sent = wait_sent(stack, wa_id, count=2)
    assert "3 tipos de perfil" in shown(sent[0]) and "Recuperar minha senha" in shown(sent[1])


def test_a_graph_api_failure_is_retried_and_the_message_still_arrives(stack, fail_next):
    wa_id = new_wa_id()
    fail_next(500)
    assert post(stack, text(wa_id, "quais sao os perfis de usuario?")).status_code == 200
    wait_sent(stack, wa_id, "3 tipos de perfil")
    attempts = stack.standin.received(lambda r: (r["json"] or {}).get("to") == wa_id)
    assert [a["failed"] for a in attempts] == [500, None]
    assert attempts[0]["json"] == attempts[1]["json"]


# --- Agents' replies (Rasa's HTTP API, as the console's outbox calls it) ---------------

def test_an_agent_reply_appended_through_the_http_api_reaches_the_customer(stack):
    wa_id = new_wa_id()
    say(stack, wa_id, "quais sao os perfis de usuario?", "3 tipos de perfil")
    reply = f"Olá! Aqui é a Ana, do pós-venda. Já estou vendo o seu caso. ({uuid.uuid4().hex[:6]})"
    answer = append_bot(stack, wa_id, {"text": reply, "metadata": {"handoff": True}})
    assert answer.status_code == 200
    sent = wait_sent(stack, wa_id, reply)[0]
    assert sent["json"]["type"] == "text" and sent["json"]["text"]["body"] == reply


def test_an_agent_reply_the_graph_api_does_not_take_fails_the_call_so_the_outbox_retries(stack, fail_next):
    wa_id = new_wa_id()
    say(stack, wa_id, "quais sao os perfis de usuario?", "3 tipos de perfil")
    reply = f"Resposta do atendente {uuid.uuid4().hex[:6]}"
    quiet(stack)
    fail_next(503, 503, 503)
    failed = append_bot(stack, wa_id, {"text": reply, "metadata": {"handoff": True}})
    assert failed.status_code == 500
    assert len(stack.standin.received(lambda r: (r["json"] or {}).get("to") == wa_id and r["failed"])) == 3
    assert reply not in [e.get("text") for e in tracker(stack, f"wa:{wa_id}")["events"]]
    assert append_bot(stack, wa_id, {"text": reply, "metadata": {"handoff": True}}).status_code == 200
    wait_sent(stack, wa_id, reply)


def test_an_agent_reply_after_24_hours_needs_a_template_and_is_held_without_one(stack):
    wa_id = new_wa_id()
    say(stack, wa_id, "quais sao os perfis de usuario?", "3 tipos de perfil")
    with session_scope(stack.database_url) as session:  # the customer wrote 25 hours ago
        session.execute(update(InboundMessage).where(InboundMessage.sender == wa_id)
                        .values(received_at=utcnow() - timedelta(hours=25)))
    reply = f"Oi! Voltando ao seu chamado {uuid.uuid4().hex[:6]}"
    # The stack has no template (conftest.CHANNEL_SETTINGS): the reply is held,
    # the API call fails, and the console's outbox will try again.
    answer = append_bot(stack, wa_id, {"text": reply, "metadata": {"handoff": True}})
    assert answer.status_code == 500
    assert stack.standin.received(lambda r: (r["json"] or {}).get("to") == wa_id and reply in shown(r)) == []
    assert reply not in [e.get("text") for e in tracker(stack, f"wa:{wa_id}")["events"]]


# --- Identification over WhatsApp ------------------------------------------------------------

def test_a_number_identified_once_with_cpf_and_code_starts_identified_later(stack):
    with session_scope(stack.database_url) as session:
        user = session.scalars(select(User).where(User.role == Role.GERENCIADOR, User.active.is_(True),
                                                  User.whatsapp.is_not(None))
                               .order_by(User.id.desc())).first()
        order = session.scalars(select(Order).where(Order.reseller_id == user.reseller_id,
                                                    Order.status == OrderStatus.EM_TRANSPORTE)).first()
    wa_id = user.whatsapp
    assert len(wa_id) == 13 and wa_id[4] == "9"  # a Brazilian mobile with its ninth digit
    question = f"status do pedido {order.number}"
    say(stack, wa_id, question, response_text("utter_ask_login_cpf"))
    say(stack, wa_id, ids.format_cpf(user.cpf), "Se o CPF estiver cadastrado, enviamos um código")
    code = maildir.latest_code(stack.maildir, user.email)
    answer = say(stack, wa_id, code, f"Pedido {order.number}")
    assert "em transporte" in shown(answer) and order.tracking_code in shown(answer)
    wait_sent(stack, wa_id, "Identidade confirmada")

    # A new session on the same conversation: identified at its start.
    assert post(stack, text(wa_id, "/session_start")).status_code == 200  # answered by nothing
    cpf_questions = len(stack.standin.received(to(wa_id, response_text("utter_ask_login_cpf"))))
    again = say(stack, wa_id, question, f"Pedido {order.number}")
    assert "em transporte" in shown(again)
    # Meta may send the same number without the ninth digit: another
    # conversation, the same linked number.
    short = wa_id[:4] + wa_id[5:]
    later = say(stack, short, question, f"Pedido {order.number}")
    assert "em transporte" in shown(later) and later["json"]["to"] == short
    assert len(stack.standin.received(to(wa_id, response_text("utter_ask_login_cpf")))) == cpf_questions
    assert stack.standin.received(to(short, response_text("utter_ask_login_cpf"))) == []


# --- The output channel on its own (no Rasa): what the assistant never sends today ----------

@pytest.fixture
def output(stack):
    """A WhatsApp output channel against the stand-in and the stack's database,
    for a number whose customer wrote a minute ago."""
    from channels.config import whatsapp_settings
    from channels.whatsapp import WhatsAppOutput
    from portal.chat_identity import first_delivery

    wa_id = new_wa_id()
    with session_scope(stack.database_url) as session:
        assert first_delivery(session, "wa", new_message_id(), wa_id, now=utcnow() - timedelta(minutes=1))
    settings = replace(whatsapp_settings(), graph_url=f"{stack.standin.url}/graph/v21.0",
                       access_token="output-test-token", phone_number_id=PHONE_NUMBER_ID,
                       template_name="", template_language="pt_BR")
    return WhatsAppOutput(settings, database_url=stack.database_url), wa_id


def run(coroutine):
    return asyncio.run(coroutine)


def test_output_more_than_ten_buttons_are_numbered_text(stack, output):
    channel, wa_id = output
    buttons = [{"title": f"Opção {n}", "payload": f"/payload_{n}"} for n in range(1, 12)]
    run(channel.send_text_with_buttons(f"wa:{wa_id}", "Escolha:", buttons))
    body = wait_sent(stack, wa_id)[0]["json"]["text"]["body"]
    assert body.startswith("Escolha:\n\n1. Opção 1\n2. Opção 2\n")
    assert "11. Opção 11" in body and "Responda com o número da opção." in body and "/payload" not in body


def test_output_long_titles_are_shortened_and_long_payloads_become_positions(stack, output):
    channel, wa_id = output
    long_payload = "/inform" + "x" * 300
    run(channel.send_text_with_buttons(f"wa:{wa_id}", "Qual?", [
        {"title": "Um título bem mais comprido que vinte", "payload": long_payload},
        {"title": "Curto", "payload": "/curto"}]))
    buttons = wait_sent(stack, wa_id)[0]["json"]["interactive"]["action"]["buttons"]
    assert buttons[0]["reply"] == {"id": "#1", "title": "Um título bem mais…"}
    assert len(buttons[0]["reply"]["title"]) <= 20 and buttons[1]["reply"]["id"] == "/curto"
    rows = [{"title": f"Assunto número {n} com nome longo", "payload": f"/p{n}"} for n in range(1, 5)]
    run(channel.send_text_with_buttons(f"wa:{wa_id}", "Qual assunto?", rows))
    sent = wait_sent(stack, wa_id, "Qual assunto?")[0]["json"]["interactive"]
    row = sent["action"]["sections"][0]["rows"][0]
    assert len(row["title"]) <= 24 and row["title"].endswith("…")
    assert row["description"] == "Assunto número 1 com nome longo" and row["id"] == "/p1"


def test_output_long_text_is_split_images_go_by_link_and_custom_json_needs_a_type(stack, output):
    channel, wa_id = output
    paragraph = "Linha de texto do assistente com várias palavras. " * 20
    long_text = "\n".join([paragraph] * 6)  # about 6,000 characters
    run(channel.send_text_message(f"wa:{wa_id}", long_text))
    parts = wait_sent(stack, wa_id, kind="text", count=2)
    assert all(len(p["json"]["text"]["body"]) <= 4096 for p in parts)
    assert " ".join("\n".join(p["json"]["text"]["body"] for p in parts).split()) == " ".join(long_text.split())
    run(channel.send_image_url(f"wa:{wa_id}", "https://example.test/danfe.png"))
    image = wait_sent(stack, wa_id, kind="image")[0]["json"]
    assert image["image"] == {"link": "https://example.test/danfe.png"}
    run(channel.send_custom_json(f"wa:{wa_id}", {"text": "sem tipo"}))
    run(channel.send_custom_json(f"wa:{wa_id}", {"type": "location", "location": {
        "latitude": -23.5, "longitude": -46.6, "name": "ScanSource"}}))
    location = wait_sent(stack, wa_id, kind="location")[0]["json"]
    assert location["to"] == wa_id and location["location"]["name"] == "ScanSource"
    assert len(stack.standin.received(to(wa_id))) == 4  # the custom JSON without a type was not sent
    run(channel.send_text_message("tw:+5511999999999", "not a WhatsApp conversation"))
    assert stack.standin.received(lambda r: "not a WhatsApp" in shown(r)) == []


def test_output_after_24_hours_uses_the_configured_template(stack, output):
    channel, wa_id = output
    with session_scope(stack.database_url) as session:
        session.execute(update(InboundMessage).where(InboundMessage.sender == wa_id)
                        .values(received_at=utcnow() - timedelta(hours=24, minutes=1)))
    channel.settings = replace(channel.settings, template_name="retorno_atendimento")
    message = "Oi! Seu chamado foi resolvido.\n\nQualquer coisa, é só responder."
    run(channel.send_text_message(f"wa:{wa_id}", message))
    sent = wait_sent(stack, wa_id, kind="template")[0]["json"]
    assert sent["template"] == {
        "name": "retorno_atendimento", "language": {"code": "pt_BR"},
        "components": [{"type": "body", "parameters": [
            {"type": "text", "text": "Oi! Seu chamado foi resolvido. Qualquer coisa, é só responder."}]}]}
    run(channel.send_text_message(f"wa:{wa_id}", "x" * 5000))
    long = wait_sent(stack, wa_id, kind="template", count=2)[-1]["json"]
    assert len(long["template"]["components"][0]["parameters"][0]["text"]) <= 1024
    assert stack.standin.received(to(wa_id, kind="text")) == []
