"""A ticket from the chat to the agent and back, in a real browser: a reseller
opens a ticket over REST, an agent finds it in the console (Debian's Chromium
driven by Playwright), sees the conversation update by itself, answers and
resolves it, and the answer lands in the customer's conversation in Rasa."""

from __future__ import annotations

import re
import time
import uuid

import requests

from portal import agents
from portal.db import session_scope
from portal.ids import cnpj_check_digits, format_cnpj

PROTOCOL = re.compile(r"MSS-\d{4}-\d{6}")
AGENT = ("agente@scansource.com.br", "demo-agente-2026")


def said(answer: list[dict]) -> str:
    return "\n".join(message.get("text") or "" for message in answer)


def bot_texts(stack, sender: str) -> list[str]:
    tracker = requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker",
                           params={"token": stack.auth_token}, timeout=10)
    tracker.raise_for_status()
    return [event.get("text") or "" for event in tracker.json()["events"] if event["event"] == "bot"]


def test_an_agent_answers_and_resolves_a_ticket_opened_in_the_chat(stack, browser):
    from playwright.sync_api import expect

    with session_scope(stack.database_url) as db:
        agents.create_demo_agents(db)
    sender = f"console-e2e-{uuid.uuid4().hex[:12]}"
    description = "a nota fiscal do pedido 4500123 não aparece no portal"
    cnpj = "112223330001" + cnpj_check_digits("112223330001")
    for message in ["quero abrir um chamado", "Documentos", description, "Carla Revendedora",
                    "carla@revenda.example", format_cnpj(cnpj)]:
        stack.say(sender, message)
    confirmation = said(stack.say(sender, "/affirm"))
    found = PROTOCOL.search(confirmation)
    assert found, f"no protocol in the confirmation: {confirmation!r}"
    protocol = found.group()

    page = browser.new_page()
    problems: list[str] = []  # a CSP violation or a script error shows up here
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{stack.console_url}/atendimento/entrar")
    page.get_by_label("E-mail").fill(AGENT[0])
    page.get_by_label("Senha").fill(AGENT[1])
    page.get_by_role("button", name="Entrar").click()
    expect(page.get_by_role("heading", name="Fila de chamados")).to_be_visible()
    expect(page.locator("header .who")).to_contain_text("Ana Atendente")

    page.get_by_label("Buscar").fill(protocol)
    page.get_by_role("button", name="Filtrar").click()
    expect(page.locator("table.queue tbody tr")).to_have_count(1)
    page.get_by_role("link", name=protocol).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(protocol)
    conversation = page.locator("#conversa")
    expect(conversation).to_contain_text(description)
    expect(conversation).to_contain_text("antes do chamado")
    expect(page.get_by_text("Informado no chat, não verificado.")).to_be_visible()

    # The conversation refreshes by itself and leaves the reply being typed alone.
    reply_box = page.get_by_label("Resposta (o cliente recebe no chat e por e-mail)")
    reply_box.fill("rascunho da resposta")
    stack.say(sender, "Tenho pressa, preciso da nota hoje")
    expect(conversation).to_contain_text("Tenho pressa, preciso da nota hoje", timeout=20_000)
    expect(reply_box).to_have_value("rascunho da resposta")

    reply = "Olá! Já verifiquei a sua nota fiscal: ela já está disponível no portal."
    reply_box.fill(reply)
    page.get_by_role("button", name="Enviar resposta").click()
    expect(page.get_by_role("status").filter(has_text="Resposta registrada.")).to_be_visible()
    expect(conversation.locator(".message-agente")).to_contain_text(reply)
    expect(conversation.locator(".message-agente .delivery")).to_have_text("entregue", timeout=20_000)

    page.get_by_label("Status").select_option("resolvido")
    page.get_by_role("button", name="Alterar status").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Resolvido")
    expect(page.get_by_text("Status: em atendimento → resolvido.")).to_be_visible()
    assert problems == []

    deadline = time.monotonic() + 20
    while not any(reply in text for text in bot_texts(stack, sender)):
        assert time.monotonic() < deadline, "the agent's reply never reached the customer's conversation"
        time.sleep(0.5)
    page.close()
