"""Tickets from the chat: collect, confirm, store, then tell the protocol.

Thin: the rules (idempotency, identity, business hours, deadlines) live in
``portal.tickets`` and ``portal.hours``; this module reads the conversation,
chooses pt-BR words and sets slots.

Flow: ``action_start_ticket`` (new draft key, what the context already tells)
-> ``ticket_form`` (category, description, contact for anonymous users,
confirmation) -> ``action_create_ticket``. A live handoff pauses the
conversation with Rasa's own pause event; the console resumes it.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.formatting import INVALID_CNPJ, day
from actions.labels import INTENT_LABELS
from nlu_components.normalizer import strip_accents
from portal import ids
from portal.db import session_scope
from portal.hours import BusinessHours
from portal.models import CATEGORY_LABELS, MessageKind, TicketCategory, TicketStatus, utcnow
from portal.settings import settings
from portal.tickets import (
    ChatLine,
    Contact,
    TicketError,
    TicketRequest,
    is_valid_email,
    mask_sensitive,
    new_request_key,
    open_ticket,
    parse_protocol,
    status_by_email,
    status_for_user,
    tickets_of_user,
)

logger = logging.getLogger(__name__)

CANCELLED = "-"
CONFIRMED = "sim"
FAILED_INTENTS = {"nlu_fallback", "out_of_scope"}
TICKET_SLOTS = ["ticket_category", "ticket_description", "ticket_name", "ticket_email", "ticket_cnpj",
                "ticket_confirm"]
MAX_STATUS_FAILURES = 3

# Answers that say "abra um chamado": the ticket's subject is already known.
CONTEXT_CATEGORY = {
    "utter_faq_cannot_login": TicketCategory.ACESSO,
    "utter_faq_forgot_password": TicketCategory.ACESSO,
    "utter_faq_forgot_registration_data": TicketCategory.ACESSO,
    "utter_faq_download_problem": TicketCategory.DOCUMENTOS,
    "utter_faq_documents_missing": TicketCategory.DOCUMENTOS,
    "utter_faq_other_subject": TicketCategory.OUTRO,
}
CATEGORY_ORDER = list(TicketCategory)
CATEGORY_WORDS = {
    TicketCategory.ACESSO: ["acesso", "login", "logar", "senha", "entrar", "cadastro", "usuario", "perfil"],
    TicketCategory.DOCUMENTOS: ["documento", "nota", "nf", "danfe", "boleto", "download", "baixar", "xml"],
    TicketCategory.PEDIDOS: ["pedido", "entrega", "rastreio", "transportadora", "produto"],
    TicketCategory.PAGAMENTOS: ["pagamento", "pagar", "pago", "vencido", "vencimento", "cobranca",
                                "financeiro", "juros"],
    TicketCategory.OUTRO: ["outro", "outra", "outros"],
}
YES = {"sim", "s", "confirmar", "confirmo", "confirma", "pode", "ok", "isso", "correto", "certo",
       "registrar", "registra", "abrir", "/affirm", "👍"}
FIX = {"corrigir", "corrige", "editar", "alterar", "mudar", "errado", "errada", "trocar"}
STOP = {"cancelar", "cancela", "desisto", "deixa pra la", "deixa para la", "esquece", "nao quero mais"}
# Contact e-mails are shown like this in the chat: "an***@empresa.com.br".
_EMAIL_HEAD = re.compile(r"^(.{1,2})[^@]*(@.*)$")


def _words(text: str) -> str:
    return " ".join(re.findall(r"[\w/👍]+", strip_accents((text or "").lower())))


def _hours() -> BusinessHours:
    return BusinessHours.from_settings(settings())


def masked_email(email: str) -> str:
    return _EMAIL_HEAD.sub(r"\1***\2", email)


def _at(event: Dict[Text, Any]) -> datetime:
    return datetime.fromtimestamp(event.get("timestamp") or 0, tz=timezone.utc).replace(tzinfo=None)


def _session_events(tracker: Tracker) -> List[Dict[Text, Any]]:
    events = tracker.events
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "session_started":
            return events[index:]
    return events


def transcript(tracker: Tracker) -> tuple[ChatLine, ...]:
    lines = []
    for event in _session_events(tracker):
        text = (event.get("text") or "").strip()
        if not text or event.get("event") not in ("user", "bot"):
            continue
        kind = MessageKind.CLIENTE if event["event"] == "user" else MessageKind.ASSISTENTE
        lines.append(ChatLine(kind, text[:2000], _at(event)))
    return tuple(lines)


def _answered_by(events: List[Dict[Text, Any]], index: int) -> str | None:
    """The first action that followed the user message at ``index``."""
    for event in events[index + 1:]:
        if event.get("event") == "user":
            return None
        if event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name")
    return None


def failed_turns(tracker: Tracker) -> tuple[dict, ...]:
    """The turns of this session the assistant did not understand, for the agent.

    Only turns answered as not understood count: a CPF or a name typed into a
    form has no intent of its own, and the form took it."""
    failed = []
    events = _session_events(tracker)
    for index, event in enumerate(events):
        parse = event.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name")
        if (event.get("event") == "user" and intent in FAILED_INTENTS
                and _answered_by(events, index) == "action_not_understood"):
            ranking = [{"intent": r.get("name"), "label": INTENT_LABELS.get(r.get("name")),
                        "confidence": round(float(r.get("confidence") or 0), 3)}
                       for r in (parse.get("intent_ranking") or []) if r.get("name") not in FAILED_INTENTS][:3]
            failed.append({"text": mask_sensitive((event.get("text") or "")[:500]), "intent": intent,
                           "confidence": round(float((parse.get("intent") or {}).get("confidence") or 0), 3),
                           "ranking": ranking})
    return tuple(failed)


def _previous_turn(tracker: Tracker) -> tuple[str | None, Dict[Text, Any] | None]:
    """The last action before the latest user message, and the user message before that."""
    events = tracker.events
    latest = next((i for i in range(len(events) - 1, -1, -1) if events[i].get("event") == "user"), None)
    if latest is None:
        return None, None
    action, earlier_user = None, None
    for event in reversed(events[:latest]):
        if event.get("event") == "action" and event.get("name") not in ("action_listen", None) and not action:
            action = event.get("name")
        if event.get("event") == "user":
            earlier_user = event
            break
    return action, earlier_user


def _prefill(tracker: Tracker) -> Dict[Text, Any]:
    """What the conversation already says about the ticket."""
    action, earlier = _previous_turn(tracker)
    slots: Dict[Text, Any] = {}
    context = tracker.get_slot("ticket_context")
    if action in ("action_lookup", "action_finish_login") and context:
        category, _, description = context.partition("|")
        return {"ticket_category": category, "ticket_description": description}
    if action in CONTEXT_CATEGORY:
        slots["ticket_category"] = CONTEXT_CATEGORY[action].value
        if earlier and not (earlier.get("text") or "").startswith("/"):
            slots["ticket_description"] = earlier.get("text")
    # "quero abrir um chamado porque o boleto veio com valor errado": the
    # request itself describes the problem.
    text = tracker.latest_message.get("text") or ""
    if "ticket_description" not in slots and len(text.split()) >= 8:
        slots["ticket_description"] = text
    return slots


class ActionStartTicket(Action):
    """A new ticket draft: explains what happens and pre-fills what is known."""

    def name(self) -> Text:
        return "action_start_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        handoff = tracker.latest_message.get("intent", {}).get("name") == "talk_to_human"
        hours, now = _hours(), utcnow()
        if handoff and hours.is_open(now):
            dispatcher.utter_message(
                text="Vou chamar uma pessoa do nosso time de pós-venda. 🙋 Antes, preciso de "
                     "algumas informações para o atendente já chegar sabendo do que se trata.")
        elif handoff:
            dispatcher.utter_message(
                text=f"O nosso time atende {hours.describe()}. Agora estamos fora desse horário, "
                     "mas posso registrar um chamado: a resposta chega a partir de "
                     f"{hours.when(hours.next_open(now), now)}.")
        else:
            dispatcher.utter_message(text="Vou abrir um chamado para você. São só algumas perguntas. 📝")
        events: List[EventType] = [SlotSet(name, None) for name in TICKET_SLOTS]
        events += [SlotSet("ticket_draft", new_request_key()), SlotSet("ticket_handoff", handoff),
                   SlotSet("ticket_context", None)]
        events += [SlotSet(name, value) for name, value in _prefill(tracker).items()]
        return events


def category_from_text(text: str) -> TicketCategory | None:
    words = _words(text)
    if words.isdigit() and 1 <= int(words) <= len(CATEGORY_ORDER):
        return CATEGORY_ORDER[int(words) - 1]
    for category in TicketCategory:
        if words == _words(category.value) or words == _words(CATEGORY_LABELS[category]):
            return category
    found = [c for c, keys in CATEGORY_WORDS.items() if any(re.search(rf"\b{k}", words) for k in keys)]
    return found[0] if len(found) == 1 else None


def _is_stop(text: str) -> bool:
    return _words(text) in STOP


class ValidateTicketForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_ticket_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        if tracker.get_slot("ticket_confirm") == CANCELLED:
            return []
        contact = [] if tracker.get_slot("authenticated") else ["ticket_name", "ticket_email", "ticket_cnpj"]
        return ["ticket_category", "ticket_description", *contact, "ticket_confirm"]

    def _asked(self, tracker: Tracker, slot: str) -> bool:
        return tracker.get_slot("requested_slot") == slot

    async def validate_ticket_category(self, value: Any, dispatcher: CollectingDispatcher,
                                       tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if value is None:  # cleared when the draft started: nothing to check
            return {"ticket_category": None}
        if _is_stop(str(value or "")):
            return {"ticket_confirm": CANCELLED}
        category = category_from_text(str(value or ""))
        if category:
            return {"ticket_category": category.value}
        if self._asked(tracker, "ticket_category"):
            dispatcher.utter_message(text="Não consegui identificar o assunto. Escolha uma das opções, "
                                          "por favor (pode responder com o número).")
        return {"ticket_category": None}

    async def validate_ticket_description(self, value: Any, dispatcher: CollectingDispatcher,
                                          tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if value is None:  # cleared when the draft started: nothing to check
            return {"ticket_description": None}
        text = " ".join(str(value or "").split())
        if _is_stop(text):
            return {"ticket_confirm": CANCELLED}
        if len(text) >= 10 and len(text.split()) >= 2 and re.search(r"[^\W\d_]", text):
            return {"ticket_description": text[:2000]}
        if self._asked(tracker, "ticket_description"):
            dispatcher.utter_message(text="Pode me contar com um pouco mais de detalhes? Por exemplo: o que "
                                          "você tentou fazer e o que apareceu na tela.")
        return {"ticket_description": None}

    async def validate_ticket_name(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if value is None:  # cleared when the draft started: nothing to check
            return {"ticket_name": None}
        name = " ".join(str(value or "").split())
        if _is_stop(name):
            return {"ticket_confirm": CANCELLED}
        if 2 <= len(name) <= 120 and re.fullmatch(r"[^\W\d_]+(?:[\s'.-][^\W\d_]+)*\.?", name):
            return {"ticket_name": name}
        dispatcher.utter_message(text="Preciso só do seu nome, sem números. Como você se chama?")
        return {"ticket_name": None}

    async def validate_ticket_email(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if value is None:  # cleared when the draft started: nothing to check
            return {"ticket_email": None}
        email = str(value or "").strip().strip(".").lower()
        if _is_stop(email):
            return {"ticket_confirm": CANCELLED}
        if is_valid_email(email):
            return {"ticket_email": email}
        dispatcher.utter_message(text="Esse e-mail não parece válido. Confira e digite de novo, por "
                                      "exemplo: nome@empresa.com.br")
        return {"ticket_email": None}

    async def validate_ticket_cnpj(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if value is None:  # cleared when the draft started: nothing to check
            return {"ticket_cnpj": None}
        text = str(value or "")
        if _is_stop(text):
            return {"ticket_confirm": CANCELLED}
        cnpj = ids.find_cnpj(text) or ids.digits(text)
        if ids.is_valid_cnpj(cnpj):
            return {"ticket_cnpj": cnpj}
        dispatcher.utter_message(text=INVALID_CNPJ)
        return {"ticket_cnpj": None}

    async def validate_ticket_confirm(self, value: Any, dispatcher: CollectingDispatcher,
                                      tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if value is None:  # cleared when the draft started: nothing to check
            return {"ticket_confirm": None}
        # Only a short answer is a choice: "pode registrar", "quero corrigir".
        words = set(_words(str(value or "")).split()[:4])
        if _is_stop(str(value or "")):
            return {"ticket_confirm": CANCELLED}
        if len(_words(str(value or "")).split()) > 4:
            words = set()
        if words & FIX:
            dispatcher.utter_message(text="Certo, vamos corrigir. ✏️")
            return {name: None for name in TICKET_SLOTS}
        if words & YES and not words & {"nao", "nem"}:  # "não está certo" is no confirmation
            return {"ticket_confirm": CONFIRMED}
        dispatcher.utter_message(text="Não entendi. Responda “Confirmar”, “Corrigir” ou “Cancelar”, por favor.")
        return {"ticket_confirm": None}


def summary_text(tracker: Tracker) -> str:
    category = TicketCategory(tracker.get_slot("ticket_category"))
    lines = ["Confira o seu chamado:",
             f"• Assunto: {category.label}",
             f"• Descrição: {tracker.get_slot('ticket_description')}"]
    if not tracker.get_slot("authenticated"):
        lines += [f"• Nome: {tracker.get_slot('ticket_name')}",
                  f"• E-mail: {tracker.get_slot('ticket_email')}",
                  f"• CNPJ: {ids.format_cnpj(tracker.get_slot('ticket_cnpj'))}"]
    lines.append("Posso registrar?")
    return "\n".join(lines)


class ActionAskTicketConfirm(Action):
    def name(self) -> Text:
        return "action_ask_ticket_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(text=summary_text(tracker), buttons=[
            {"title": "Confirmar", "payload": "/affirm"},
            {"title": "Corrigir", "payload": "corrigir"},
            {"title": "Cancelar", "payload": "/deny"},
        ])
        return []


def _reset() -> List[EventType]:
    return [SlotSet(name, None) for name in TICKET_SLOTS] + [SlotSet("ticket_handoff", None)]


def _opened_text(opened, hours: BusinessHours, now: datetime) -> str:
    first = f"Pronto! Registrei o seu chamado {opened.protocol}. ✅"
    email = masked_email(opened.contact_email)
    if opened.live:
        return (f"{first}\nUma pessoa do nosso time vai continuar esta conversa por aqui em instantes. "
                f"Enquanto isso, eu fico em silêncio. 🙂\nA confirmação foi para o e-mail {email}.")
    return (f"{first}\nVocê vai receber uma resposta até {hours.when(opened.due_at, now)}, aqui e no "
            f"e-mail {email}.\nPara acompanhar, é só perguntar: “status do chamado {opened.protocol}”.")


class ActionCreateTicket(Action):
    """After the form: store the ticket, then tell the protocol (once per draft)."""

    def name(self) -> Text:
        return "action_create_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        if tracker.get_slot("ticket_confirm") == CANCELLED:
            dispatcher.utter_message(response="utter_form_cancelled")
            return _reset()
        draft = tracker.get_slot("ticket_draft")
        if not draft:
            dispatcher.utter_message(text="Não encontrei um chamado em andamento. Se quiser abrir um, "
                                          "é só pedir: “abrir chamado”.")
            return _reset()
        config, hours, now = settings(), _hours(), utcnow()
        user_id = tracker.get_slot("auth_user_id") if tracker.get_slot("authenticated") else None
        request = TicketRequest(
            request_key=draft,
            channel=tracker.get_latest_input_channel() or "desconhecido",
            sender_id=tracker.sender_id,
            category=TicketCategory(tracker.get_slot("ticket_category") or TicketCategory.OUTRO.value),
            description=tracker.get_slot("ticket_description") or "",
            user_id=int(user_id) if user_id is not None else None,
            contact=None if user_id is not None else Contact(
                tracker.get_slot("ticket_name") or "", tracker.get_slot("ticket_email") or "",
                tracker.get_slot("ticket_cnpj") or ""),
            transcript=transcript(tracker),
            failed_turns=failed_turns(tracker),
            handoff=bool(tracker.get_slot("ticket_handoff")),
        )
        try:
            with session_scope() as session:
                opened = open_ticket(session, request, hours, timedelta(hours=config.ticket_sla_hours),
                                     timedelta(minutes=config.handoff_sla_minutes),
                                     helpdesk=config.helpdesk_enabled, now=now)
        except TicketError:
            dispatcher.utter_message(text="Não consegui registrar o chamado com esses dados. Vamos "
                                          "tentar de novo? É só pedir: “abrir chamado”.")
            return _reset()
        except SQLAlchemyError:  # the portal database is down: nothing was stored
            logger.exception("could not store ticket draft %s", draft)
            dispatcher.utter_message(text="Não consegui registrar o chamado agora, desculpe. 😕 Responda "
                                          "“sim” daqui a pouco para eu tentar de novo (nada foi perdido).")
            return []
        # A live handoff pauses the conversation, also when this is a repeated
        # confirmation of it (the first answer may have been lost).
        pause = [ConversationPaused()] if opened.live else []
        if not opened.created:
            dispatcher.utter_message(text=f"O seu chamado {opened.protocol} já está registrado. 👍 "
                                          "Não é preciso confirmar de novo.")
            return _reset() + pause
        dispatcher.utter_message(text=_opened_text(opened, hours, now))
        return _reset() + pause


# --- "qual o status do meu chamado MSS-...?" ----------------------------------------

STATUS_PHRASES = {
    TicketStatus.NOVO: "está na fila do nosso time",
    TicketStatus.AGUARDANDO_ATENDENTE: "está aguardando um atendente",
    TicketStatus.EM_ATENDIMENTO: "está em atendimento com o nosso time",
    TicketStatus.AGUARDANDO_CLIENTE: "está aguardando uma resposta sua: responda aqui no chat ou pelo e-mail",
    TicketStatus.RESOLVIDO: "foi resolvido",
}


def status_text(summary, hours: BusinessHours, now: datetime) -> str:
    text = (f"Chamado {summary.protocol} ({summary.category.label}), aberto em {day(summary.created_at)}: "
            f"{STATUS_PHRASES[summary.status]}")
    if summary.status is TicketStatus.RESOLVIDO and summary.resolved_at:
        text += f" em {day(summary.resolved_at)}. ✅"
    elif summary.status in (TicketStatus.NOVO, TicketStatus.AGUARDANDO_ATENDENTE) and not summary.replies:
        text += f". Previsão de resposta: até {hours.when(summary.due_at, now)}."
    else:
        text += "."
    if summary.replies:
        text += ("\nO time já respondeu 1 vez." if summary.replies == 1
                 else f"\nO time já respondeu {summary.replies} vezes.")
    return text


class ValidateTicketLookupForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_ticket_lookup_form"

    async def validate_ticket_lookup_protocol(self, value: Any, dispatcher: CollectingDispatcher,
                                              tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if value is None:
            return {"ticket_lookup_protocol": None}
        protocol = parse_protocol(str(value))
        if protocol:
            return {"ticket_lookup_protocol": protocol}
        if tracker.get_slot("requested_slot") == "ticket_lookup_protocol":
            dispatcher.utter_message(text="O protocolo tem este formato: MSS-2026-000123. Pode conferir e "
                                          "mandar de novo?")
        return {"ticket_lookup_protocol": None}

    async def validate_ticket_lookup_email(self, value: Any, dispatcher: CollectingDispatcher,
                                           tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if value is None:
            return {"ticket_lookup_email": None}
        email = str(value).strip().strip(".").lower()
        if is_valid_email(email):
            return {"ticket_lookup_email": email}
        if tracker.get_slot("requested_slot") == "ticket_lookup_email":
            dispatcher.utter_message(text="Esse e-mail não parece válido. Confira e digite de novo, por favor.")
        return {"ticket_lookup_email": None}


class ActionStartTicketLookup(Action):
    """Before the status form: a protocol in the question itself is kept."""

    def name(self) -> Text:
        return "action_start_ticket_lookup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        return [SlotSet("ticket_lookup_protocol", parse_protocol(tracker.latest_message.get("text"))),
                SlotSet("ticket_lookup_email", None)]


class ActionTicketStatus(Action):
    """The status of a ticket, for its owner only: the identified user who opened
    it, or whoever knows its protocol and the e-mail it was opened with."""

    def name(self) -> Text:
        return "action_ticket_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        hours, now = _hours(), utcnow()
        reset = [SlotSet("ticket_lookup_protocol", None), SlotSet("ticket_lookup_email", None)]
        failures = int(tracker.get_slot("ticket_lookup_failures") or 0)
        if failures >= MAX_STATUS_FAILURES:
            dispatcher.utter_message(
                text="Por segurança, não consigo consultar mais chamados nesta conversa. Se precisar, "
                     f"fale com o nosso time de pós-venda: {tracker.get_slot('link_pos_venda')}")
            return reset
        protocol = (tracker.get_slot("ticket_lookup_protocol")
                    or parse_protocol(tracker.latest_message.get("text")))
        user_id = tracker.get_slot("auth_user_id") if tracker.get_slot("authenticated") else None
        with session_scope() as session:
            if user_id is not None and not protocol:
                mine = tickets_of_user(session, int(user_id))
                if not mine:
                    dispatcher.utter_message(text="Você ainda não abriu nenhum chamado por aqui. Se precisar, "
                                                  "é só pedir: “abrir chamado”.")
                else:
                    dispatcher.utter_message(text="Seus chamados mais recentes:\n" + "\n\n".join(
                        status_text(s, hours, now) for s in mine))
                return reset
            if user_id is not None:
                found = status_for_user(session, protocol, int(user_id))
            else:
                found = status_by_email(session, protocol or "", tracker.get_slot("ticket_lookup_email") or "")
        if found is None:
            dispatcher.utter_message(
                text="Não encontrei um chamado com esses dados. Confira o protocolo (por exemplo "
                     "MSS-2026-000123)" + ("." if user_id is not None else " e o e-mail usado na abertura."))
            return reset + [SlotSet("ticket_lookup_failures", float(failures + 1))]
        dispatcher.utter_message(text=status_text(found, hours, now))
        return reset
