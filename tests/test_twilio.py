"""WhatsApp through Twilio, end to end: the real Rasa server (``stack``) gets
Twilio's signed form posts; its replies reach the Twilio stand-in.

Signatures are computed with Twilio's own RequestValidator over the public
address Twilio would have called (``TWILIO_PUBLIC_URL``), not over the local
address the tests post to, as behind a proxy.
"""

from __future__ import annotations

import base64
import random
import time
import uuid
from urllib.parse import quote

import pytest
import requests
from twilio.request_validator import RequestValidator

from conftest import CHANNEL_SETTINGS

PATH = "/webhooks/twilio_whatsapp/webhook"
PUBLIC_URL = CHANNEL_SETTINGS["TWILIO_PUBLIC_URL"] + PATH
ACCOUNT_SID = CHANNEL_SETTINGS["TWILIO_ACCOUNT_SID"]
OUR_NUMBER = CHANNEL_SETTINGS["TWILIO_WHATSAPP_NUMBER"]
VALIDATOR = RequestValidator(CHANNEL_SETTINGS["TWILIO_AUTH_TOKEN"])
MEDIA_ONLY = "Por enquanto eu só consigo ler mensagens de texto. 🙂 Pode escrever sua dúvida?"


def new_number() -> str:
    return "+55119" + "".join(random.choice("0123456789") for _ in range(8))


def twilio_form(number: str, body: str = "", sid: str | None = None, **extra: str) -> dict:
    """The fields Twilio posts for an incoming WhatsApp message."""
    sid = sid or "SM" + uuid.uuid4().hex
    return {"SmsMessageSid": sid, "NumMedia": "0", "ProfileName": "Cliente Teste",
            "MessageType": "text", "SmsSid": sid, "WaId": number.lstrip("+"), "SmsStatus": "received",
            "Body": body, "To": OUR_NUMBER, "NumSegments": "1", "ReferralNumMedia": "0",
            "MessageSid": sid, "AccountSid": ACCOUNT_SID, "From": f"whatsapp:{number}",
            "ApiVersion": "2010-04-01", **extra}


def post(stack, form: dict, signature: str | None = "sign", signed_url: str = PUBLIC_URL,
         data=None) -> requests.Response:
    headers = {}
    if signature == "sign":
        headers["X-Twilio-Signature"] = VALIDATOR.compute_signature(signed_url, form)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    return requests.post(f"{stack.rasa_url}{PATH}", data=form if data is None else data,
                         headers=headers, timeout=10)


def say(stack, number: str, body: str, **extra: str) -> requests.Response:
    answer = post(stack, twilio_form(number, body, **extra))
    assert answer.status_code == 200, answer.text
    return answer


def to(number: str):
    return lambda r: "/Messages.json" in r["path"] and (r["form"] or {}).get("To") == f"whatsapp:{number}"


def sent(stack, number: str, count: int = 1, containing: str = "", timeout: float = 30) -> list[dict]:
    """The messages the stand-in got for ``number`` (at least ``count`` with ``containing``)."""
    delivered = lambda r: to(number)(r) and containing in r["form"].get("Body", "")  # noqa: E731
    try:
        return stack.standin.wait_for(delivered, count=count, timeout=timeout)
    except AssertionError:
        bodies = [r["form"].get("Body") for r in stack.standin.received(to(number))]
        raise AssertionError(f"{count} message(s) with {containing!r} expected for {number}; got {bodies}")


def eventually(check, timeout: float = 10):
    """``check()``'s value once it is truthy (the tracker is saved right after
    the replies go out, so it can trail the stand-in by a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def tracker(stack, number: str) -> dict:
    answer = requests.get(f"{stack.rasa_url}/conversations/{quote('tw:' + number, safe=':+')}/tracker",
                          params={"token": stack.auth_token}, timeout=10)
    answer.raise_for_status()
    return answer.json()


def user_texts(stack, number: str) -> list[str]:
    return [e.get("text") for e in tracker(stack, number)["events"] if e["event"] == "user"]


def test_a_signed_message_is_answered_through_twilios_api(stack):
    number = new_number()
    started = time.monotonic()
    answer = say(stack, number, "esqueci minha senha")
    assert time.monotonic() - started < 5
    assert answer.headers["Content-Type"].startswith("text/xml")
    assert "<Response></Response>" in answer.text  # empty TwiML: the reply goes through the API

    [message] = sent(stack, number, containing="Recuperar minha senha")
    assert message["method"] == "POST"
    assert message["path"] == f"/twilio/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert message["form"]["From"] == OUR_NUMBER
    credentials = f"{ACCOUNT_SID}:{CHANNEL_SETTINGS['TWILIO_AUTH_TOKEN']}".encode()
    assert message["headers"]["Authorization"] == "Basic " + base64.b64encode(credentials).decode()
    # The FAQ's button comes as a numbered option; its payload is never shown.
    body = message["form"]["Body"]
    assert "1. Abrir um chamado" in body and "Responda com o número da opção." in body
    assert "/open_ticket" not in body

    # The conversation is tw:<+E.164>, from this channel, with nothing the client said about itself.
    def saved():
        state = tracker(stack, number)
        return state if any(e["event"] == "user" for e in state["events"]) else None

    state = eventually(saved)
    assert state["sender_id"] == f"tw:{number}"
    [user] = [e for e in state["events"] if e["event"] == "user"]
    assert user["input_channel"] == "twilio_whatsapp"
    assert not {"ProfileName", "WaId", "From"} & set(user.get("metadata") or {})


def test_options_are_numbered_and_a_number_picks_the_option(stack):
    number = new_number()
    say(stack, number, "quero abrir um chamado")
    [question] = sent(stack, number, containing="Sobre qual assunto é o chamado?")
    body = question["form"]["Body"]
    assert "1. Acesso/login\n2. Documentos\n3. Pedidos\n4. Pagamentos\n5. Outro assunto" in body

    say(stack, number, "2")
    sent(stack, number, containing="Conte com as suas palavras o que aconteceu")
    assert eventually(lambda: tracker(stack, number)["slots"]["ticket_category"] == "documentos")
    assert user_texts(stack, number)[-1] == "Documentos"  # Rasa got the payload, not "2"


def test_an_option_title_picks_it_too(stack):
    number = new_number()
    say(stack, number, "quero abrir um chamado")
    sent(stack, number, containing="Sobre qual assunto é o chamado?")
    say(stack, number, "pagamentos")
    sent(stack, number, containing="Conte com as suas palavras o que aconteceu")
    assert eventually(lambda: tracker(stack, number)["slots"]["ticket_category"] == "pagamentos")


def refused_then_nothing_processed(stack, number: str, answer: requests.Response, status: int) -> None:
    """``answer`` was refused with ``status``; a signed "oi" afterwards is the
    only message of the conversation (the same conversation is processed in
    order, so a processed refused message would be there first)."""
    assert answer.status_code == status, answer.text
    say(stack, number, "oi")
    replies = sent(stack, number)
    assert eventually(lambda: user_texts(stack, number) == ["oi"]), user_texts(stack, number)
    assert not any("Recuperar minha senha" in r["form"]["Body"] for r in replies)


def test_a_forged_signature_is_refused(stack):
    number = new_number()
    forged = base64.b64encode(b"not a real signature").decode()
    refused_then_nothing_processed(stack, number, post(stack, twilio_form(number, "esqueci minha senha"),
                                                       signature=forged), 403)


def test_a_signature_with_another_token_is_refused(stack):
    number = new_number()
    form = twilio_form(number, "esqueci minha senha")
    other = RequestValidator("not-our-token").compute_signature(PUBLIC_URL, form)
    refused_then_nothing_processed(stack, number, post(stack, form, signature=other), 403)


def test_a_signed_message_changed_on_the_way_is_refused(stack):
    number = new_number()
    form = twilio_form(number, "oi")
    signature = VALIDATOR.compute_signature(PUBLIC_URL, form)
    form["Body"] = "esqueci minha senha"
    refused_then_nothing_processed(stack, number, post(stack, form, signature=signature), 403)


def test_a_signature_for_the_local_address_is_refused(stack):
    # Proves the check uses TWILIO_PUBLIC_URL: Twilio signs the address it
    # called, never the one the Rasa server sees behind the proxy.
    number = new_number()
    local = f"{stack.rasa_url}{PATH}"
    answer = post(stack, twilio_form(number, "esqueci minha senha"), signed_url=local)
    refused_then_nothing_processed(stack, number, answer, 403)


def test_a_missing_signature_is_refused(stack):
    number = new_number()
    answer = post(stack, twilio_form(number, "esqueci minha senha"), signature=None)
    refused_then_nothing_processed(stack, number, answer, 403)


@pytest.mark.parametrize("sender", ["+5511987654321", "whatsapp:5511987654321", "whatsapp:+55ab", ""])
def test_a_signed_message_without_a_whatsapp_sender_is_malformed(stack, sender):
    form = twilio_form(new_number(), "oi", From=sender)
    assert post(stack, form).status_code == 400


def test_a_signed_message_without_a_sender_or_sid_is_malformed(stack):
    form = twilio_form(new_number(), "oi")
    assert post(stack, {k: v for k, v in form.items() if k != "From"}).status_code == 400
    assert post(stack, {k: v for k, v in form.items() if k != "MessageSid"}).status_code == 400


def test_a_body_that_is_not_a_form_is_refused_without_an_error(stack):
    answer = post(stack, {}, signature="anything", data=b"\xff\xfe\x00garbage")
    assert answer.status_code in (400, 403)


def test_a_body_over_64_kb_is_refused(stack):
    number = new_number()
    form = twilio_form(number, "a" * (65 * 1024))
    answer = post(stack, form)
    refused_then_nothing_processed(stack, number, answer, 413)


def test_media_without_text_gets_a_polite_note_without_rasa(stack):
    number = new_number()
    say(stack, number, "", NumMedia="1", MessageType="image", MediaContentType0="image/jpeg",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1")
    [note] = sent(stack, number)
    assert note["form"]["Body"] == MEDIA_ONLY
    assert note["form"]["From"] == OUR_NUMBER
    assert user_texts(stack, number) == []


def test_media_with_a_caption_is_answered_as_text(stack):
    number = new_number()
    say(stack, number, "esqueci minha senha", NumMedia="1", MediaContentType0="image/jpeg",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM2/Media/ME2")
    sent(stack, number, containing="Recuperar minha senha")


def test_the_same_message_sid_twice_is_answered_once(stack):
    number = new_number()
    sid = "SM" + uuid.uuid4().hex
    say(stack, number, "esqueci minha senha", sid=sid)
    say(stack, number, "esqueci minha senha", sid=sid)  # Twilio's retry: 200, not processed
    say(stack, number, "quero abrir um chamado")  # processed after both, in order
    sent(stack, number, containing="Vou abrir um chamado para você")
    assert len(stack.standin.received(lambda r: to(number)(r) and "Recuperar minha senha"
                                      in r["form"]["Body"])) == 1
    expected = ["esqueci minha senha", "quero abrir um chamado"]
    assert eventually(lambda: user_texts(stack, number) == expected), user_texts(stack, number)


def test_a_twilio_failure_is_retried_until_delivered(stack):
    number = new_number()
    stack.standin.fail_next(500)
    say(stack, number, "esqueci minha senha")
    first, second = sent(stack, number, count=2, containing="Recuperar minha senha")
    assert first["failed"] == 500 and second["failed"] is None
    assert first["form"] == second["form"]


def test_rate_limits_and_outages_are_retried_up_to_three_attempts(stack):
    number = new_number()
    stack.standin.fail_next(429, 503)
    say(stack, number, "esqueci minha senha")
    attempts = sent(stack, number, count=3, containing="Recuperar minha senha")
    assert [a["failed"] for a in attempts] == [429, 503, None]


def test_a_twilio_timeout_is_retried(stack):
    from channels.twilio_whatsapp import SEND_TIMEOUT

    number = new_number()
    slow, stack.standin.slow_seconds = stack.standin.slow_seconds, SEND_TIMEOUT + 1
    try:
        stack.standin.fail_next("slow")
        say(stack, number, "esqueci minha senha")
        first, second = sent(stack, number, count=2, containing="Recuperar minha senha",
                             timeout=SEND_TIMEOUT + 20)
    finally:
        stack.standin.slow_seconds = slow
    assert first["failed"] == "slow" and second["failed"] is None


def test_a_refused_message_is_not_retried(stack):
    number = new_number()
    stack.standin.fail_next(400)
    say(stack, number, "esqueci minha senha")
    say(stack, number, "quero abrir um chamado")  # processed after the first, in order
    sent(stack, number, containing="Vou abrir um chamado para você")
    attempts = stack.standin.received(lambda r: to(number)(r) and "Recuperar minha senha" in r["form"]["Body"])
    assert [a["failed"] for a in attempts] == [400]


def append_agent_reply(stack, number: str, text: str) -> requests.Response:
    return requests.post(
        f"{stack.rasa_url}/conversations/{quote('tw:' + number, safe=':+')}/tracker/events",
        params={"token": stack.auth_token, "execute_side_effects": "true", "output_channel": "latest"},
        json=[{"event": "bot", "text": text, "metadata": {"handoff": True}}], timeout=60)


def test_an_agent_reply_from_the_console_reaches_the_customer(stack):
    number = new_number()
    say(stack, number, "oi")
    sent(stack, number)
    text = f"Olá! Aqui é a Ana, do pós-venda. Já estou vendo o seu caso ({uuid.uuid4().hex[:6]})."
    answer = append_agent_reply(stack, number, text)
    assert answer.status_code == 200, answer.text
    [reply] = sent(stack, number, containing=text)
    assert reply["form"]["From"] == OUR_NUMBER
    assert reply["form"]["Body"] == text


def test_an_agent_reply_twilio_refuses_fails_the_call_so_the_console_retries(stack):
    number = new_number()
    say(stack, number, "oi")
    sent(stack, number)
    text = f"Resposta do atendente {uuid.uuid4().hex[:6]}"
    stack.standin.fail_next(500, 500, 500)
    answer = append_agent_reply(stack, number, text)
    assert answer.status_code == 500
    assert [a["failed"] for a in sent(stack, number, count=3, containing=text)] == [500, 500, 500]
    assert not [e for e in tracker(stack, number)["events"] if e["event"] == "bot" and e["text"] == text]
    # The console's outbox tries again: now it goes through.
    assert append_agent_reply(stack, number, text).status_code == 200
    assert sent(stack, number, count=4, containing=text)[-1]["failed"] is None


# --- Splitting long bodies (no server needed) ---------------------------------

def test_long_bodies_are_split_at_paragraphs_within_twilios_limit():
    from channels.twilio_whatsapp import MAX_BODY_CHARS, split_body

    paragraphs = [f"Parágrafo {i}: " + " ".join(["informação importante"] * 30) for i in range(12)]
    text = "\n\n".join(paragraphs)
    parts = split_body(text)
    assert len(parts) > 1
    assert all(len(p.encode("utf-16-le")) // 2 <= MAX_BODY_CHARS for p in parts)
    assert all(p.startswith("Parágrafo") for p in parts)  # cut between paragraphs
    assert "\n\n".join(parts) == text


def test_long_bodies_without_spaces_and_with_emojis_still_fit():
    from channels.twilio_whatsapp import MAX_BODY_CHARS, split_body

    text = "😉" * 1000 + "x" * 2000
    parts = split_body(text)
    assert all(len(p.encode("utf-16-le")) // 2 <= MAX_BODY_CHARS for p in parts)
    assert "".join(parts) == text
    assert split_body("  curta  ") == ["curta"] and split_body("") == []
