"""Tickets and the live handoff over REST, end to end: Rasa, actions, portal
database and Maildir all real (the ``stack`` fixture; its support team is
always at work, see conftest.ALWAYS_OPEN)."""

from __future__ import annotations

import mailbox
import re
import time
import uuid

import pytest
import requests
from sqlalchemy import func, select

from portal import ids
from portal.db import session_scope
from portal.models import Boleto, MessageKind, Role, Ticket, TicketCategory, TicketStatus
from test_identity_flows import identify, texts, user_with

PROTOCOL = re.compile(r"MSS-\d{4}-\d{6}")


def new_sender() -> str:
    return f"tk-{uuid.uuid4().hex[:12]}"


def cnpj() -> str:
    base = f"{uuid.uuid4().int % 10**8:08d}0001"
    return ids.format_cnpj(base + ids.cnpj_check_digits(base))


def say_all(stack, sender: str, *messages: str) -> list[str]:
    """Each message's replies, joined per message."""
    return [texts(stack.say(sender, message)) for message in messages]


def ticket(stack, protocol: str) -> Ticket:
    with session_scope(stack.database_url) as s:
        found = s.scalar(select(Ticket).where(Ticket.protocol == protocol))
        found.messages, found.events  # load before the session closes
        return found


def tracker(stack, sender: str) -> dict:
    return requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker",
                        params={"token": stack.auth_token}, timeout=10).json()


def mail_to(stack, email: str, at_least: int = 1, timeout: float = 15) -> list[str]:
    """The messages sent to ``email``, once there are ``at_least`` (the console's
    worker sends them a moment after the ticket is stored)."""
    deadline = time.monotonic() + timeout
    while True:
        box = mailbox.Maildir(str(stack.maildir), create=True)
        found = [m.get_payload(decode=True).decode() for m in box if m["To"] == email]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def open_anonymous(stack, sender: str, first: str = "quero abrir um chamado", email: str | None = None):
    email = email or f"maria.{uuid.uuid4().hex[:6]}@revenda.com.br"
    company = cnpj()
    replies = say_all(stack, sender, first, "Documentos",
                      "a nota fiscal do pedido 4500123 não aparece no portal <script>x</script>",
                      "Maria Souza", email, company)
    return replies, email, company


def test_an_anonymous_reseller_opens_a_ticket_and_gets_the_protocol_once(stack):
    sender = new_sender()
    replies, email, company = open_anonymous(stack, sender)
    assert "Sobre qual assunto é o chamado?" in replies[0]
    summary = replies[-1]
    assert "• Assunto: Documentos" in summary and f"• CNPJ: {company}" in summary
    assert "Posso registrar?" in summary
    done = texts(stack.say(sender, "/affirm"))
    protocol = PROTOCOL.search(done).group()
    assert done.startswith(f"Pronto! Registrei o seu chamado {protocol}.")
    stored = ticket(stack, protocol)
    assert stored.status is TicketStatus.NOVO and stored.category is TicketCategory.DOCUMENTOS
    assert stored.contact_email == email and stored.contact_cnpj == ids.digits(company)
    assert stored.user_id is None and stored.channel == "rest" and stored.sender_id == sender
    assert "<script>x</script>" in stored.description  # stored as typed; the console escapes it
    transcript = [(m.kind, m.body) for m in stored.messages if m.in_transcript]
    assert (MessageKind.CLIENTE, "quero abrir um chamado") in transcript
    assert any(kind is MessageKind.ASSISTENTE and "Sobre qual assunto" in body for kind, body in transcript)
    [confirmation] = mail_to(stack, email)
    assert f"Recebemos o seu chamado {protocol}" in confirmation

    # A double click, a retried request: the same ticket, no second one, no second e-mail.
    again = texts(stack.say(sender, "/affirm"))
    assert again == f"O seu chamado {protocol} já está registrado. 👍 Não é preciso confirmar de novo."
    with session_scope(stack.database_url) as s:
        assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.sender_id == sender)) == 1
    time.sleep(3)  # longer than a worker round: a second e-mail would be there by now
    assert len(mail_to(stack, email)) == 1


def test_bad_contact_data_is_asked_again_politely(stack):
    sender = new_sender()
    replies = say_all(stack, sender, "preciso abrir um chamado", "hmm", "6", "Pagamentos", "oi",
                      "o boleto do pedido 4500777 veio com valor errado", "123", "Maria", "maria@",
                      "maria@revenda.com.br", "11.222.333/0001-80")
    assert "Não consegui identificar o assunto" in replies[1] and "Não consegui identificar" in replies[2]
    assert "Conte com as suas palavras" in replies[3]
    assert "um pouco mais de detalhes" in replies[4]
    assert "Qual é o seu nome?" in replies[5]
    assert "sem números" in replies[6]
    assert "e-mail não parece válido" in replies[8]
    assert "CNPJ não parece válido" in replies[10]
    assert "Posso registrar?" in texts(stack.say(sender, "11.222.333/0001-81"))


def test_cancelling_halfway_or_at_the_summary_opens_nothing(stack):
    sender = new_sender()
    assert "cancelei" in say_all(stack, sender, "abrir chamado", "Pedidos", "cancelar")[-1]
    sender2 = new_sender()
    open_anonymous(stack, sender2)
    assert "cancelei" in texts(stack.say(sender2, "/deny"))
    with session_scope(stack.database_url) as s:
        assert s.scalar(select(func.count()).select_from(Ticket)
                        .where(Ticket.sender_id.in_([sender, sender2]))) == 0


def test_correcting_the_summary_asks_again(stack):
    sender = new_sender()
    open_anonymous(stack, sender)
    fixed = texts(stack.say(sender, "corrigir"))
    assert "vamos corrigir" in fixed and "Sobre qual assunto é o chamado?" in fixed


def test_an_identified_user_is_not_asked_for_contact_data(stack):
    user = user_with(stack, Role.GERENCIADOR)
    sender = new_sender()
    identify(stack, sender, user, "quais são os meus últimos pedidos?")
    replies = say_all(stack, sender, "quero registrar um chamado", "Acesso/login",
                      "não consigo trocar o e-mail de um usuário da minha revenda")
    assert "Qual é o seu nome?" not in "".join(replies)
    assert "Confira o seu chamado" in replies[-1] and "CNPJ" not in replies[-1]
    protocol = PROTOCOL.search(texts(stack.say(sender, "sim"))).group()
    stored = ticket(stack, protocol)
    assert stored.user_id == user.id and stored.contact_email == user.email
    bodies = " ".join(m.body for m in stored.messages)
    assert ids.mask_cpf(user.cpf) in bodies and ids.format_cpf(user.cpf) not in bodies
    assert "[código de verificação]" in bodies
    # Its status, for its owner, without a protocol.
    status = texts(stack.say(sender, "tem novidade nos meus chamados?"))
    assert protocol in status and "está na fila do nosso time" in status


def test_an_faq_that_says_to_open_a_ticket_fills_in_what_it_knows(stack):
    sender = new_sender()
    faq = stack.say(sender, "as notas fiscais nao aparecem pra mim")
    assert faq[0]["buttons"] == [{"title": "Abrir um chamado", "payload": "/open_ticket"}]
    replies = say_all(stack, sender, "/open_ticket", "Maria", "maria@revenda.com.br", cnpj())
    assert "Qual é o seu nome?" in replies[0] and "assunto" not in replies[0]
    assert "• Assunto: Documentos" in replies[-1]
    assert "• Descrição: as notas fiscais nao aparecem pra mim" in replies[-1]


def test_an_overdue_boleto_offers_a_ticket_about_it(stack):
    user = user_with(stack, Role.ADMINISTRADOR)
    with session_scope(stack.database_url) as s:
        overdue = s.scalars(select(Boleto).where(Boleto.reseller_id == user.reseller_id,
                                                 Boleto.paid_on.is_(None), Boleto.due_date < func.current_date())
                            ).first()
        if overdue is None:
            pytest.skip("this reseller has no overdue boleto in the demo data")
        order = overdue.invoice.order.number
    sender = new_sender()
    answer = identify(stack, sender, user, f"segunda via do boleto do pedido {order}")
    assert "posso abrir um chamado para você" in answer
    summary = texts(stack.say(sender, "/open_ticket"))
    assert "• Assunto: Pagamentos" in summary and "nova data de vencimento" in summary
    assert f"pedido {order}" in summary


def test_asking_for_a_person_pauses_the_bot_until_the_agent_hands_back(stack):
    sender = new_sender()
    first = texts(stack.say(sender, "quero falar com uma pessoa"))
    assert "Vou chamar uma pessoa do nosso time" in first
    say_all(stack, sender, "Pedidos", "meu pedido 4500123 chegou com um item faltando", "Maria",
            "maria@revenda.com.br", cnpj())
    done = texts(stack.say(sender, "sim"))
    protocol = PROTOCOL.search(done).group()
    assert "Uma pessoa do nosso time vai continuar esta conversa" in done
    stored = ticket(stack, protocol)
    assert stored.live and stored.status is TicketStatus.AGUARDANDO_ATENDENTE
    assert tracker(stack, sender)["paused"] is True

    # While paused the bot is silent, but the messages are in the conversation.
    assert stack.say(sender, "esqueci minha senha") == []
    assert "esqueci minha senha" in [e.get("text") for e in tracker(stack, sender)["events"]]

    # An agent's reply (what the console appends) reaches a REST customer with
    # their next message; then the hand-back lets the bot answer again.
    append = f"{stack.rasa_url}/conversations/{sender}/tracker/events"
    params = {"token": stack.auth_token, "execute_side_effects": "true", "output_channel": "latest"}
    requests.post(append, params=params, timeout=10,
                  json=[{"event": "bot", "text": "Oi, Maria! Vou verificar.", "metadata": {"handoff": True}}])
    assert [r["text"] for r in stack.say(sender, "obrigada")] == ["Oi, Maria! Vou verificar."]
    requests.post(append, params=params, timeout=10, json=[
        {"event": "resume"}, {"event": "action", "name": "action_listen"},
        {"event": "bot", "text": "Voltei!", "metadata": {"handoff": True}}])
    back = [r["text"] for r in stack.say(sender, "esqueci minha senha")]
    assert back[0] == "Voltei!" and "Recuperar minha senha" in back[1]


def test_ticket_status_needs_the_protocol_and_the_email_it_was_opened_with(stack):
    sender = new_sender()
    open_anonymous(stack, sender, email="status.check@revenda.com.br")
    protocol = PROTOCOL.search(texts(stack.say(sender, "/affirm"))).group()
    other = new_sender()
    asked = texts(stack.say(other, f"qual o status do meu chamado {protocol}?"))
    assert "qual é o e-mail usado na abertura" in asked
    assert "Não encontrei um chamado com esses dados" in texts(stack.say(other, "outra@revenda.com.br"))
    stack.say(other, f"status do chamado {protocol.lower()}")
    status = texts(stack.say(other, "Status.Check@revenda.com.br"))
    assert status.startswith(f"Chamado {protocol} (Documentos), aberto em")
    assert "está na fila do nosso time" in status


def test_too_many_wrong_status_lookups_are_refused(stack):
    sender = new_sender()
    for _ in range(3):
        stack.say(sender, "status do chamado MSS-2026-999999")
        assert "Não encontrei" in texts(stack.say(sender, "alguem@revenda.com.br"))
    stack.say(sender, "status do chamado MSS-2026-999999")
    assert "Por segurança, não consigo consultar" in texts(stack.say(sender, "alguem@revenda.com.br"))


def test_the_console_reads_and_writes_the_same_conversation_as_the_channels(stack):
    from console.rasa_api import RasaClient

    client = RasaClient(stack.rasa_url, stack.auth_token)
    for sender in (f"wa:55119{uuid.uuid4().int % 10**8:08d}", f"tw:+55119{uuid.uuid4().int % 10**8:08d}"):
        client.append(sender, [{"event": "bot", "text": "Olá do time", "metadata": {"handoff": True}}])
        assert "Olá do time" in [e.get("text") for e in client.tracker_events(sender)]
        # The same conversation under the id the channel uses (not a percent-encoded copy).
        raw = requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker",
                           params={"token": stack.auth_token}, timeout=10).json()
        assert raw["sender_id"] == sender and "Olá do time" in [e.get("text") for e in raw["events"]]
