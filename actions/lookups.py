"""Order status, 2ª via of NF-e and boletos, payment status: pt-BR answers.

Thin: every query is a portal.lookups call scoped to the identified user's
reseller; this module only chooses words. The identity comes from the
``auth_user_id`` slot, which only the login form sets after the portal
verified a one-time code.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.formatting import day, money
from portal.clock import today_in_brazil
from portal.db import session_scope
from portal.documents import DocumentKind, sign_link
from portal.lookups import (
    NumberProblem,
    Viewer,
    find_boletos,
    find_invoices,
    find_order,
    parse_document_number,
    payment_summary,
    recent_orders,
    viewer_for,
)
from portal.models import OrderStatus, TicketCategory
from portal.settings import settings

NOT_FOUND = (
    "Não encontrei esse pedido na sua conta. Confira o número (por exemplo 4500123) ou "
    "peça \"meus últimos pedidos\"."
)
NUMBER_PROBLEMS = {
    NumberProblem.HAS_LETTERS: "O número do pedido ou da nota tem só dígitos (por exemplo 4500123). Pode conferir e mandar de novo?",
    NumberProblem.TOO_LONG: "Esse número é longo demais para um pedido ou nota fiscal (por exemplo 4500123). Confira e mande de novo, por favor.",
}
NEW_BOLETO_BUTTON = {"title": "Pedir boleto novo", "payload": "/open_ticket"}
ASK_NUMBER = {
    "invoice_copy": "Me diga o número do pedido ou da nota fiscal, por exemplo: \"2ª via da nota do pedido 4500123\".",
    "boleto_copy": "Me diga o número do pedido ou da nota fiscal do boleto, por exemplo: \"boleto do pedido 4500123\".",
}


def _link(viewer: Viewer, kind: DocumentKind, document_id: int) -> str:
    config = settings()
    return config.documents_base_url + sign_link(config.download_secret, viewer, kind, document_id)


def _order_text(order) -> str:
    lines = [
        f"Pedido {order.number} (de {day(order.placed_on)}): {order.status.value} "
        f"desde {day(order.status_changed_at)}.",
        order.meaning,
    ]
    if order.carrier:
        lines.append(f"Transportadora: {order.carrier}. Rastreio: {order.tracking_code}.")
    if order.invoice_numbers:
        lines.append("Nota fiscal: " + ", ".join(order.invoice_numbers) + ".")
    return "\n".join(lines)


def _orders(dispatcher: CollectingDispatcher, session, viewer: Viewer, text: str) -> None:
    parsed = parse_document_number(text)
    if parsed.problem in NUMBER_PROBLEMS:
        dispatcher.utter_message(text=NUMBER_PROBLEMS[parsed.problem])
        return
    if parsed.number:
        order = find_order(session, viewer, parsed.number)
        dispatcher.utter_message(text=_order_text(order) if order else NOT_FOUND)
        return
    orders = recent_orders(session, viewer)
    if not orders:
        dispatcher.utter_message(text="Não encontrei pedidos na sua conta.")
        return
    lines = ["Seus últimos pedidos:"]
    for i, order in enumerate(orders, start=1):
        lines.append(f"{i}. {order.number} ({day(order.placed_on)}): {order.status.value}, "
                     f"desde {day(order.status_changed_at)}")
    lines.append("Para ver os detalhes, me diga o número do pedido.")
    dispatcher.utter_message(text="\n".join(lines))


def _number_or_ask(dispatcher: CollectingDispatcher, text: str, request: str) -> str | None:
    """The order/NF number in the message, or None after saying what is missing."""
    parsed = parse_document_number(text)
    if parsed.number:
        return parsed.number
    dispatcher.utter_message(text=NUMBER_PROBLEMS.get(parsed.problem, ASK_NUMBER[request]))
    return None


def _invoices(dispatcher: CollectingDispatcher, session, viewer: Viewer, text: str, today: date) -> None:
    number = _number_or_ask(dispatcher, text, "invoice_copy")
    if number is None:
        return
    invoices = find_invoices(session, viewer, number, today)
    if not invoices:
        dispatcher.utter_message(text=_not_invoiced(session, viewer, number))
        return
    for invoice in invoices:
        lines = [
            f"Nota fiscal {invoice.number}, série {invoice.series} (pedido {invoice.order_number})",
            f"Emissão: {day(invoice.issued_on)} · Valor: {money(invoice.total)}",
            "Chave de acesso:",
            invoice.access_key,
        ]
        if viewer.can_download:
            lines.append("Baixe a 2ª via (DANFE) em até 15 minutos: "
                         + _link(viewer, DocumentKind.NOTA_FISCAL, invoice.id))
        else:
            lines.append("O seu perfil é Visualizador, que permite ver os documentos, mas não "
                         "fazer download. Se precisar do arquivo, peça a um Gerenciador ou "
                         "Administrador da sua revenda.")
        dispatcher.utter_message(text="\n".join(lines))


def _boletos(dispatcher: CollectingDispatcher, session, viewer: Viewer, text: str,
             today: date) -> str | None:
    """Answers with the boletos; returns a ticket context when one is overdue."""
    number = _number_or_ask(dispatcher, text, "boleto_copy")
    if number is None:
        return None
    boletos = find_boletos(session, viewer, number, today)
    if not boletos:
        dispatcher.utter_message(text=_not_invoiced(session, viewer, number))
        return None
    context = None
    for boleto in boletos:
        lines = [
            f"Boleto da nota {boleto.invoice_number} (pedido {boleto.order_number}): "
            f"{money(boleto.amount)}, vencimento {day(boleto.due_date)} · {boleto.status}",
        ]
        if boleto.status == "pago":
            lines.append(f"Pago em {day(boleto.paid_on)}. ✅ Não é preciso pagar de novo.")
            dispatcher.utter_message(text="\n".join(lines))
            continue
        lines += ["Linha digitável (copie e cole no app do banco):", boleto.linha_digitavel]
        if viewer.can_download:
            lines.append("PDF do boleto (link válido por 15 minutos): "
                         + _link(viewer, DocumentKind.BOLETO, boleto.id))
        else:
            lines.append("O seu perfil é Visualizador, que não permite download; use a linha digitável acima.")
        if boleto.status == "vencido":
            lines.append("Este boleto venceu. Para receber um boleto atualizado, com nova data de "
                         "vencimento, posso abrir um chamado para você.")
            context = ticket_context(
                TicketCategory.PAGAMENTOS,
                f"Preciso de um boleto atualizado (nova data de vencimento) para a NF {boleto.invoice_number} "
                f"do pedido {boleto.order_number}, de {money(boleto.amount)}, vencido em {day(boleto.due_date)}.")
            dispatcher.utter_message(text="\n".join(lines), buttons=[NEW_BOLETO_BUTTON])
        else:
            dispatcher.utter_message(text="\n".join(lines))
    return context


def _not_invoiced(session, viewer: Viewer, number: str) -> str:
    order = find_order(session, viewer, number)
    if order is None:
        return "Não encontrei esse pedido ou nota fiscal na sua conta. Confira o número, por favor."
    if order.status is OrderStatus.CANCELADO:
        return f"O pedido {order.number} foi cancelado e não tem nota fiscal nem boleto."
    return (f"O pedido {order.number} ainda não foi faturado (status: {order.status.value}), "
            "por isso ainda não tem nota fiscal nem boleto.")


def _payments(dispatcher: CollectingDispatcher, session, viewer: Viewer, today: date) -> str | None:
    """Answers with the summary; returns a ticket context when titles are overdue."""
    summary = payment_summary(session, viewer, today)
    lines = ["Situação dos pagamentos da sua revenda:"]
    overdue, open_, paid = summary.overdue, summary.open, summary.recently_paid
    if overdue.count:
        lines.append(f"⚠️ Vencidos: {overdue.count} boleto(s), total {money(overdue.total)}. Os mais antigos:")
        for boleto in overdue.first:
            lines.append(f"  • NF {boleto.invoice_number}: {money(boleto.amount)}, venceu em {day(boleto.due_date)}")
        lines.append("  Para receber boletos atualizados, posso abrir um chamado para você.")
    else:
        lines.append("Nenhum boleto vencido. 👍")
    if open_.count:
        lines.append(f"Em aberto: {open_.count} boleto(s), total {money(open_.total)}. Próximos vencimentos:")
        for boleto in open_.first:
            lines.append(f"  • {day(boleto.due_date)}: {money(boleto.amount)} (NF {boleto.invoice_number})")
    else:
        lines.append("Nenhum boleto em aberto.")
    if paid.count:
        lines.append(f"Pagos nos últimos 30 dias: {paid.count} boleto(s), total {money(paid.total)}. Os mais recentes:")
        for boleto in paid.first:
            lines.append(f"  • {day(boleto.paid_on)}: {money(boleto.amount)} (NF {boleto.invoice_number})")
    if not overdue.count:
        dispatcher.utter_message(text="\n".join(lines))
        return None
    dispatcher.utter_message(text="\n".join(lines), buttons=[NEW_BOLETO_BUTTON])
    notes = ", ".join(f"NF {b.invoice_number} (vencida em {day(b.due_date)})" for b in overdue.first)
    return ticket_context(TicketCategory.PAGAMENTOS,
                          f"Preciso de boletos atualizados para {overdue.count} título(s) vencido(s), "
                          f"total {money(overdue.total)}: {notes}.")


def ticket_context(category: TicketCategory, description: str) -> str:
    """What a ticket opened right after this answer is about (slot ``ticket_context``)."""
    return f"{category.value}|{description}"


def answer_lookup(dispatcher: CollectingDispatcher, user_id: int, request: str | None,
                  text: str, greeting: bool = False) -> List[EventType]:
    """Answers ``request`` for the user; the events to apply (identity dropped
    when the user is no longer valid, the ticket context of the answer)."""
    today = today_in_brazil()
    context = None
    with session_scope() as session:
        viewer = viewer_for(session, user_id)
        if viewer is None:
            dispatcher.utter_message(text="Não consegui confirmar o seu acesso. Por favor, identifique-se de novo.")
            return [SlotSet("authenticated", False), SlotSet("auth_user_id", None)]
        if greeting:
            dispatcher.utter_message(text=f"Pronto, {viewer.first_name}! Identidade confirmada. ✅")
        if request == "order_status":
            _orders(dispatcher, session, viewer, text)
        elif request == "invoice_copy":
            _invoices(dispatcher, session, viewer, text, today)
        elif request == "boleto_copy":
            context = _boletos(dispatcher, session, viewer, text, today)
        elif request == "payment_status":
            context = _payments(dispatcher, session, viewer, today)
        elif greeting:
            dispatcher.utter_message(text="Agora posso consultar pedidos, notas fiscais, boletos e pagamentos. O que você precisa?")
    return [SlotSet("ticket_context", context)]


class ActionLookup(Action):
    def name(self) -> Text:
        return "action_lookup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        user_id = tracker.get_slot("auth_user_id")
        request = tracker.latest_message.get("intent", {}).get("name")
        text = tracker.latest_message.get("text") or ""
        if user_id is None:
            return [SlotSet("authenticated", False)]
        return answer_lookup(dispatcher, int(user_id), request, text)
