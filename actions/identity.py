"""Identification in the chat: CPF, e-mailed code, logout.

Thin: the rules (validation, hashing, limits, lockout) live in portal.auth;
this module turns their outcomes into pt-BR messages and slots.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.formatting import minutes
from actions.lookups import answer_lookup
from actions.tickets import TICKET_SLOTS
from portal import ids
from portal.auth import AuthService, CodeCheck, CodeRequest
from portal.chat_identity import NUMBER_CHANNELS, WEB, link_number, parse_sender, unlink_number
from portal.db import session_scope
from portal.mail import Mailer
from portal.settings import settings

# Every slot a form fills: cleared when a form is abandoned or the user logs out.
FORM_SLOTS = ["login_cpf", "login_code", "eligibility_cnpj", "pending_request", "pending_text",
              *TICKET_SLOTS, "ticket_handoff", "ticket_lookup_protocol", "ticket_lookup_email"]
LOOKUP_INTENTS = {"order_status", "invoice_copy", "boleto_copy", "payment_status"}
# Slot value that ends the form without an identity (locked, too many codes).
GAVE_UP = "-"


def auth_service(session) -> AuthService:
    config = settings()
    return AuthService(session, Mailer(config), config.otp_secret)


class ActionRememberRequest(Action):
    """Keeps the question asked before identification, to answer it afterwards."""

    def name(self) -> Text:
        return "action_remember_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        intent = tracker.latest_message.get("intent", {}).get("name")
        dispatcher.utter_message(response="utter_identify_first")
        return [
            SlotSet("pending_request", intent if intent in LOOKUP_INTENTS else None),
            SlotSet("pending_text", tracker.latest_message.get("text")),
        ]


class ValidateLoginForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_login_form"

    async def validate_login_cpf(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        text = str(value or "")
        cpf = ids.find_cpf(text)
        if tracker.get_slot("requested_slot") != "login_cpf" and cpf is None:
            # Not asked yet (the form is starting): only a CPF written in the
            # opening message counts as an answer.
            return {"login_cpf": None}
        with session_scope() as session:
            result = auth_service(session).request_code(cpf or text)
        if result.outcome is CodeRequest.INVALID_CPF:
            dispatcher.utter_message(
                text="Esse CPF não parece válido: confira os 11 dígitos (os dois últimos são "
                     "dígitos verificadores) e digite de novo, por favor."
            )
            return {"login_cpf": None}
        if result.outcome is CodeRequest.SENT:
            dispatcher.utter_message(
                text="Se o CPF estiver cadastrado, enviamos um código de 6 dígitos para o "
                     "e-mail cadastrado. Ele vale por 10 minutos. 📧"
            )
            return {"login_cpf": cpf or ids.digits(text)}
        wait = minutes(result.retry_after.total_seconds()) if result.retry_after else "alguns minutos"
        if result.outcome is CodeRequest.TOO_MANY:
            dispatcher.utter_message(
                text=f"Já enviamos 3 códigos para esse CPF nos últimos 15 minutos. Por segurança, "
                     f"peça de novo a consulta daqui a {wait}."
            )
        else:
            dispatcher.utter_message(
                text=f"Por segurança, a identificação desse CPF está bloqueada por {wait}, "
                     "depois de várias tentativas com código errado."
            )
        return {"login_cpf": GAVE_UP, "login_code": GAVE_UP}

    async def validate_login_code(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "login_code":
            return {"login_code": None}  # not asked yet (see validate_login_cpf)
        cpf = tracker.get_slot("login_cpf") or ""
        with session_scope() as session:
            result = auth_service(session).check_code(cpf, str(value or ""))
        if result.outcome is CodeCheck.OK:
            return {"login_code": "ok", "authenticated": True, "auth_user_id": float(result.user_id)}
        if result.outcome is CodeCheck.BAD_FORMAT:
            dispatcher.utter_message(text="O código tem 6 números, por exemplo 123456. Pode digitar de novo?")
            return {"login_code": None}
        if result.outcome is CodeCheck.WRONG:
            left = result.attempts_left or 0
            if left > 0:
                tries = "1 tentativa" if left == 1 else f"{left} tentativas"
                dispatcher.utter_message(text=f"Código incorreto. Confira o e-mail e digite de novo (restam {tries}).")
                return {"login_code": None}
            dispatcher.utter_message(text="Não consegui confirmar a sua identidade com esse código. "
                                          "Se precisar, fale com o nosso time de pós-venda.")
            return {"login_code": GAVE_UP}
        if result.outcome in (CodeCheck.EXPIRED, CodeCheck.NO_CODE):
            dispatcher.utter_message(
                text="Esse código expirou ou já foi substituído por um mais novo. Peça de novo a "
                     "consulta para receber outro código."
            )
            return {"login_code": GAVE_UP}
        wait = minutes(result.retry_after.total_seconds()) if result.retry_after else "15 minutos"
        dispatcher.utter_message(
            text=f"Foram 5 tentativas com código errado. Por segurança, a identificação desse CPF "
                 f"ficou bloqueada por {wait}."
        )
        return {"login_code": GAVE_UP}


class ActionFinishLogin(Action):
    """After the form: greet the identified user and answer what they asked."""

    def name(self) -> Text:
        return "action_finish_login"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        reset = [SlotSet("login_cpf", None), SlotSet("login_code", None),
                 SlotSet("pending_request", None), SlotSet("pending_text", None)]
        user_id = tracker.get_slot("auth_user_id")
        if not tracker.get_slot("authenticated") or user_id is None:
            return reset
        _remember_number(tracker.sender_id, int(user_id))
        request = tracker.get_slot("pending_request")
        return reset + answer_lookup(dispatcher, int(user_id), request,
                                     tracker.get_slot("pending_text") or "", greeting=True)


def _remember_number(sender: str, user_id: int) -> None:
    """A WhatsApp number verified with a code starts identified next time."""
    parsed = parse_sender(sender)
    if parsed.channel in NUMBER_CHANNELS:
        with session_scope() as session:
            link_number(session, parsed.channel, parsed.external_id, user_id, settings().whatsapp_link_days)


class ActionCancelForm(Action):
    def name(self) -> Text:
        return "action_cancel_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_form_cancelled")
        return [ActiveLoop(None), SlotSet("requested_slot", None)] + [
            SlotSet(name, None) for name in FORM_SLOTS]


class ActionLogout(Action):
    def name(self) -> Text:
        return "action_logout"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        parsed = parse_sender(tracker.sender_id)
        if parsed.channel == WEB and tracker.get_slot("authenticated"):
            dispatcher.utter_message(
                text="Aqui no chat você está identificado pelo login do portal My ScanSource. "
                     "Para sair, use a opção Sair do portal.")
            return []
        if tracker.get_slot("authenticated"):
            if parsed.channel in NUMBER_CHANNELS:
                with session_scope() as session:
                    unlink_number(session, parsed.channel, parsed.external_id)
            dispatcher.utter_message(
                text="Pronto, você saiu. Para consultar pedidos, notas ou boletos de novo, "
                     "vou pedir o seu CPF e um código. 👋"
            )
        else:
            dispatcher.utter_message(text="Você não está identificado no chat neste momento.")
        return [ActiveLoop(None), SlotSet("requested_slot", None),
                SlotSet("authenticated", False), SlotSet("auth_user_id", None)] + [
            SlotSet(name, None) for name in FORM_SLOTS]
