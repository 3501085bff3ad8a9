"""The assistant over its real channels: Rasa server + action server running.

Uses the ``stack`` fixture (free ports, its own tracker database).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml

from conftest import LINK_OVERRIDES

DOMAIN = yaml.safe_load((Path(__file__).parent.parent / "domain.yml").read_text())


def response_text(name: str) -> str:
    """The response as the user must see it: links filled in."""
    text = DOMAIN["responses"][name][0]["text"]
    for slot, config in DOMAIN["slots"].items():
        url = LINK_OVERRIDES.get(slot, config.get("initial_value"))
        text = text.replace("{" + slot + "}", str(url))
    return text


def new_sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


# Questions in a user's own words (not in training or held-out data).
FAQ_QUESTIONS = {
    "faq_what_is_platform": "pra que serve a my scansource afinal?",
    "faq_who_can_access": "quem tem direito de usar a plataforma?",
    "faq_not_a_reseller": "eu nao sou revenda, sou integrador avulso, posso entrar?",
    "faq_what_can_i_do": "o que da pra fazer dentro da plataforma?",
    "faq_quotes": "vcs fazem cotacao de produto por la?",
    "faq_commissions": "consigo acompanhar minhas comissoes no my scansource?",
    "faq_end_customer": "o meu cliente final consegue acessar tambem?",
    "faq_coming_soon": "vai ter multi cnpj algum dia?",
    "faq_registration": "o que preciso pra me cadastrar?",
    "faq_reseller_portal_login": "ja tenho login do portal do revendedor, preciso de outro?",
    "faq_cannot_login": "nao consigo fazer login de jeito nenhum",
    "faq_forgot_password": "esqueci a senha de acesso, e agora?",
    "faq_forgot_registration_data": "nao lembro com qual cpf eu me cadastrei",
    "faq_profile_types": "quais sao os perfis de usuario?",
    "faq_add_user": "como incluo um novo usuario pra minha equipe?",
    "faq_edit_user": "preciso alterar o perfil de um usuario existente",
    "faq_download_problem": "nao consigo baixar os boletos",
    "faq_documents_missing": "as notas fiscais nao aparecem pra mim",
    "faq_other_subject": "minha duvida e sobre garantia de produto, nao da plataforma",
}


@pytest.mark.parametrize("intent", sorted(FAQ_QUESTIONS))
def test_each_faq_is_answered_with_the_faq_text_and_real_links(stack, intent):
    replies = stack.say(new_sender(), FAQ_QUESTIONS[intent])
    assert [r["text"] for r in replies] == [response_text(f"utter_{intent}")]
    assert "None" not in replies[0]["text"] and "{" not in replies[0]["text"]


def test_a_link_configured_in_the_environment_replaces_the_default(stack):
    replies = stack.say(new_sender(), "da pra pedir cotação pela plataforma?")
    assert "Formulário de Cotação: https://cotacao.example.test/formulario\n" in replies[0]["text"]


BAD_INPUTS = {
    "empty": ("", "Não recebi nenhum texto"),
    "whitespace": ("   \n  ", "Não recebi nenhum texto"),
    "huge": ("preciso de ajuda com o boleto " * 350, "longa demais"),
    "emojis": ("🤔🤔🤔", "símbolos ou emojis"),
    "english": ("where is my order please", "apenas em português"),
    "spanish": ("hola, necesito la factura de mi pedido", "apenas em português"),
    "html": ("<script>alert('x')</script>", "código (HTML ou SQL)"),
    "sql": ("'; DROP TABLE pedidos; --", "código (HTML ou SQL)"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gets_a_polite_answer_and_the_next_message_works(stack, case):
    text, expected = BAD_INPUTS[case]
    sender = new_sender()
    replies = stack.say(sender, text)
    assert replies, "the assistant must always answer"
    joined = " ".join(r.get("text", "") for r in replies)
    assert expected in joined
    after = stack.say(sender, "esqueci minha senha")
    assert [r["text"] for r in after] == [response_text("utter_faq_forgot_password")]


def test_unknown_text_asks_to_rephrase_then_offers_a_ticket(stack):
    sender = new_sender()
    first = stack.say(sender, "xablau ornitorrinco quantico")
    first_stage = {response_text(n) for n in ("utter_out_of_scope", "utter_ask_rephrase", "utter_ask_affirmation")}
    assert first[0]["text"] in first_stage
    second = stack.say(sender, "flurbo zig zag plim")
    assert second[0]["text"] == response_text("utter_default")
    assert [b["title"] for b in second[0]["buttons"]] == ["Abrir um chamado", "Falar com uma pessoa"]


def test_choosing_a_suggested_button_answers_that_question(stack):
    sender = new_sender()
    stack.say(sender, "xablau ornitorrinco quantico")
    replies = stack.say(sender, "/faq_forgot_password")
    assert [r["text"] for r in replies] == [response_text("utter_faq_forgot_password")]


def test_rephrasing_after_a_fallback_answers_the_new_message(stack):
    sender = new_sender()
    stack.say(sender, "xablau ornitorrinco quantico")
    replies = stack.say(sender, "como adiciono um usuario novo?")
    assert [r["text"] for r in replies] == [response_text("utter_faq_add_user")]


def test_two_out_of_scope_questions_in_a_row_offer_a_ticket(stack):
    sender = new_sender()
    first = stack.say(sender, "qual a previsao do tempo pra amanha em sao paulo?")
    assert first[0]["text"] == response_text("utter_out_of_scope")
    second = stack.say(sender, "me conta uma piada de papagaio")
    assert second[0]["text"] == response_text("utter_default")


def test_lookups_from_an_anonymous_user_ask_for_identification(stack):
    for message in ["qual o status do meu pedido 4500123?", "quero a segunda via do boleto",
                    "preciso da nota fiscal do pedido 4500001", "tem algum pagamento vencido?"]:
        replies = stack.say(new_sender(), message)
        assert [r["text"] for r in replies] == [response_text("utter_identify_first"),
                                                response_text("utter_ask_login_cpf")]


def test_talking_to_a_person_starts_a_ticket_for_the_team(stack):
    replies = stack.say(new_sender(), "preciso falar com um atendente")
    assert replies[0]["text"].startswith("Vou chamar uma pessoa do nosso time de pós-venda.")
    assert replies[1]["text"] == response_text("utter_ask_ticket_category")
    assert [b["title"] for b in replies[1]["buttons"]] == [
        "Acesso/login", "Documentos", "Pedidos", "Pagamentos", "Outro assunto"]


def test_socket_channel_answers(stack):
    import queue

    import socketio

    client = socketio.Client()
    received: queue.Queue = queue.Queue()
    sessions: queue.Queue = queue.Queue()
    client.on("bot_uttered", handler=received.put)
    client.on("session_confirm", handler=sessions.put)
    client.connect(stack.rasa_url, transports=["polling"])
    try:
        client.emit("session_request", {"session_id": None})
        # Without a portal token: an anonymous conversation the server chose,
        # with the ticket that resumes it (channels/socket.py).
        confirmed = sessions.get(timeout=10)
        client.emit("user_uttered", {"message": "esqueci minha senha"})
        reply = received.get(timeout=15)
    finally:
        client.disconnect()
    assert confirmed["session_id"].startswith("web-anon:") and confirmed["anon"]
    assert reply["text"] == response_text("utter_faq_forgot_password")


def test_conversation_survives_a_server_restart(stack):
    sender = new_sender()
    stack.say(sender, "xablau ornitorrinco quantico")  # first failure
    stack.restart_rasa()
    # The conversation came back from the tracker store: this is the second
    # failure in a row, so the ticket offer comes instead of starting over.
    second = stack.say(sender, "flurbo zig zag plim")
    assert second[0]["text"] == response_text("utter_default")


@pytest.mark.parametrize(
    "body",
    [
        {"message": "oi"},  # no sender: Rasa would use one shared "default" conversation
        {"sender": "", "message": "oi"},
        {"sender": "abc", "message": "oi"},
        {"sender": "x" * 200, "message": "oi"},
        {"sender": "com espaço 123", "message": "oi"},
        # Other channels' conversations: a REST client cannot claim or read them.
        {"sender": "wa:5511987654321", "message": "oi"},
        {"sender": "web:12345678", "message": "oi"},
        {"sender": "tw:5511987654321", "message": "oi"},
        {"sender": "valid-sender-1", "message": 12345},
        {"sender": "valid-sender-2", "message": ["lista"]},
        ["not", "an", "object"],
    ],
)
def test_malformed_rest_requests_get_a_4xx(stack, body):
    import requests

    reply = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", json=body, timeout=10)
    assert 400 <= reply.status_code < 500


def test_a_client_cannot_claim_another_channel(stack):
    import requests

    sender = new_sender()
    requests.post(f"{stack.rasa_url}/webhooks/rest/webhook",
                  json={"sender": sender, "message": "oi", "input_channel": "whatsapp"}, timeout=10)
    tracker = requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker",
                           params={"token": stack.auth_token}, timeout=10).json()
    assert tracker["latest_input_channel"] == "rest"
