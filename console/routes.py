"""The agents' console, under /atendimento/ (server-rendered pages).

    GET|POST /atendimento/entrar                        login (e-mail + senha)
    POST     /atendimento/sair                          logout
    GET      /atendimento/                              the queue (filters, search, pages)
    GET      /atendimento/chamados/<protocol>           a ticket and its conversation
    GET      /atendimento/chamados/<protocol>/conversa  the conversation only (polled)
    POST     /atendimento/chamados/<protocol>/atribuir|status|responder|nota|devolver
    GET      /atendimento/indicadores                   insights

Every page but the login needs a live session (cookie ``mss_console``); every
POST needs the session's CSRF token. The acting agent always comes from the
session. The rules (who may do what, what a reply enqueues) are
``portal.tickets``'; this module only reads forms and renders.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import wraps
from math import ceil
from pathlib import Path
from urllib.parse import urlencode

from sanic import Sanic, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from console.delivery import deliver_now
from console.pages import error_page, page, render
from console.rasa_api import RasaError
from portal import agents, insights, outbox, tickets
from portal.agents import LoginResult
from portal.db import session_scope
from portal.models import AgentRole, TicketCategory, TicketStatus, utcnow

log = logging.getLogger(__name__)

PREFIX = "/atendimento"
STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "mss_console"
LOGIN_CSRF_COOKIE = "mss_login_csrf"
PAGE_SIZE = 50
_NEXT = re.compile(r"/atendimento/[A-Za-z0-9\-._~/?=&%+]*")

DONE = {
    "atribuido": "Atribuição salva.",
    "status": "Status alterado.",
    "resposta": "Resposta registrada. O status da entrega aparece na conversa.",
    "nota": "Nota interna salva.",
    "devolvido": "Conversa devolvida ao assistente virtual.",
}
EMPTY_TEXT = "Escreva o texto antes de enviar."
DELIVERY_KINDS = {tickets.CHAT_MESSAGE: "Resposta no chat", tickets.CHAT_RESUME: "Volta ao assistente",
                  tickets.ZENDESK_TICKET: "Cópia no Zendesk"}
STATUS_FILTERS = [("abertos", "Abertos"), *[(s.value, s.value.capitalize()) for s in TicketStatus],
                  ("todos", "Todos")]


@dataclass(frozen=True)
class Viewer:
    """The logged-in agent, as the pages need it."""

    agent_id: int
    name: str
    role: AgentRole
    csrf: str

    @property
    def supervisor(self) -> bool:
        return self.role is AgentRole.SUPERVISOR


def _form(request: Request, name: str) -> str:
    return request.form.get(name) or ""


def _safe_next(value: str | None) -> str:
    """Only a console path: never another site."""
    return value if value and _NEXT.fullmatch(value) else f"{PREFIX}/"


def _same(expected: str | None, submitted: str) -> bool:
    """The login form's double-submit check (before there is a session)."""
    return bool(expected) and secrets.compare_digest(expected.encode(), submitted.encode())


def _set_cookie(request: Request, reply: response.HTTPResponse, name: str, value: str,
                max_age: int) -> None:
    reply.cookies[name] = value
    cookie = reply.cookies[name]
    cookie["path"] = PREFIX
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["max-age"] = max_age
    if request.app.ctx.config.secure_cookie:
        cookie["secure"] = True


def _to_login(next_path: str) -> response.HTTPResponse:
    return response.redirect(f"{PREFIX}/entrar?{urlencode({'next': next_path})}", status=303)


def requires_agent(handler):
    """A live session for every request; its CSRF token on every POST."""

    @wraps(handler)
    async def wrapped(request: Request, *args, **kwargs):
        with session_scope() as db:
            current = agents.session_for(db, request.cookies.get(COOKIE))
            if current is None:
                return _to_login(request.path if request.method == "GET" else f"{PREFIX}/")
            viewer = Viewer(current.agent.id, current.agent.name, current.agent.role, current.csrf_token)
            submitted = _form(request, "csrf")
            if request.method == "POST" and not agents.csrf_ok(current, submitted):
                return error_page(403, "O formulário expirou. Recarregue a página e tente de novo.",
                                  viewer)
        request.ctx.viewer = viewer
        return await handler(request, *args, **kwargs)

    return wrapped


def _choice(kind, value: str | None):
    """An enum member from a form or query value, or None when empty."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise InvalidUsage("unknown option") from None


def customer_lines(events: list[dict], created_at: datetime,
                   resolved_at: datetime | None) -> list[tuple[str, str, datetime]]:
    """What the customer wrote in the chat while the ticket was open, as
    (reference, text, at) for ``tickets.record_customer_messages``.

    ``created_at`` is truncated to the second, so the message that confirmed
    the ticket can carry a timestamp inside that second: it is already in the
    transcript and starts one second later. Button payloads ("/affirm") are
    not something the customer wrote."""
    start = created_at + timedelta(seconds=1)
    lines = []
    for event in events:
        stamp, text = event.get("timestamp"), (event.get("text") or "").strip()
        if event.get("event") != "user" or not isinstance(stamp, (int, float)) or not text \
                or text.startswith("/"):
            continue
        at = datetime.fromtimestamp(stamp, timezone.utc).replace(tzinfo=None)
        if at >= start and (resolved_at is None or at <= resolved_at):
            lines.append((f"{stamp:.6f}", text, at))
    return lines


def register(app: Sanic) -> None:
    app.static(f"{PREFIX}/static", str(STATIC), name="console_static")

    # GET / is the demo portal page, or a redirect here: console/demo.py.

    # --- Login and logout -----------------------------------------------------

    def login_form(request: Request, next_path: str, email: str = "", message: str = "",
                   status: int = 200) -> response.HTTPResponse:
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
        if not re.fullmatch(r"[A-Za-z0-9_\-]{43}", token):
            token = secrets.token_urlsafe(32)
        reply = page("login.html", status=status, csrf=token, next=next_path, email=email,
                     message=message)
        _set_cookie(request, reply, LOGIN_CSRF_COOKIE, token, 3600)
        return reply

    @app.route(f"{PREFIX}/entrar", methods=["GET", "POST"])
    async def login(request: Request) -> response.HTTPResponse:
        if request.method == "GET":
            next_path = _safe_next(request.args.get("next"))
            with session_scope() as db:
                if agents.session_for(db, request.cookies.get(COOKIE)) is not None:
                    return response.redirect(next_path, status=303)
            return login_form(request, next_path)
        next_path = _safe_next(_form(request, "next"))
        if not _same(request.cookies.get(LOGIN_CSRF_COOKIE), _form(request, "csrf")):
            return error_page(403, "O formulário expirou. Abra a página de login de novo.")
        email = _form(request, "email").strip()[:254]
        with session_scope() as db:
            login = agents.log_in(db, email, _form(request, "senha"))
        if login.result is LoginResult.OK:
            reply = response.redirect(next_path, status=303)
            _set_cookie(request, reply, COOKIE, login.token, int(agents.SESSION_TTL.total_seconds()))
            return reply
        if login.result is LoginResult.LOCKED:
            minutes = max(1, ceil(login.retry_after.total_seconds() / 60))
            message = f"Muitas tentativas. Tente de novo em {minutes} minuto{'s' if minutes > 1 else ''}."
        else:
            message = "E-mail ou senha incorretos."
        return login_form(request, next_path, email, message)

    @app.post(f"{PREFIX}/sair")
    @requires_agent
    async def logout(request: Request) -> response.HTTPResponse:
        with session_scope() as db:
            agents.log_out(db, request.cookies.get(COOKIE))
        reply = response.redirect(f"{PREFIX}/entrar", status=303)
        _set_cookie(request, reply, COOKIE, "", 0)
        return reply

    # --- The queue ------------------------------------------------------------

    @app.get(f"{PREFIX}/")
    @requires_agent
    async def queue_page(request: Request) -> response.HTTPResponse:
        args = request.args
        search = (args.get("busca") or "").strip()[:100]
        status = args.get("status") or ("todos" if search else "abertos")
        filters = tickets.QueueFilter(
            status=None if status in ("abertos", "todos") else _choice(TicketStatus, status),
            open_only=status == "abertos",
            category=_choice(TicketCategory, args.get("categoria")),
            channel=(args.get("canal") or "")[:30] or None,
            search=search,
        )
        number = int(args.get("pagina")) if (args.get("pagina") or "").isdigit() else 1
        number = max(1, min(number, 10_000))
        chosen = {"status": status, "categoria": args.get("categoria") or "",
                  "canal": filters.channel or "", "busca": search}
        now = utcnow()
        with session_scope() as db:
            found = tickets.queue(db, filters, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
            return page(
                "queue.html", viewer=request.ctx.viewer, section="fila", found=found, chosen=chosen,
                statuses=STATUS_FILTERS, categories=list(TicketCategory), number=number,
                pages=max(1, ceil(found.total / PAGE_SIZE)), first=(number - 1) * PAGE_SIZE + 1,
                link=lambda n: f"{PREFIX}/?{urlencode({**chosen, 'pagina': n})}",
                sla=lambda ticket: tickets.sla_state(ticket, now), now=now,
            )

    # --- A ticket -------------------------------------------------------------

    async def copy_customer_messages(ticket_id: int, sender_id: str, created_at: datetime,
                                     resolved_at: datetime | None) -> bool:
        """New customer messages from the chat into the ticket; False when Rasa
        could not be read (the page then shows what the database has)."""
        try:
            events = await asyncio.get_running_loop().run_in_executor(
                None, app.ctx.rasa.tracker_events, sender_id)
        except RasaError as error:
            log.warning("could not read conversation %s from Rasa: %s", sender_id, error)
            return False
        lines = customer_lines(events, created_at, resolved_at)
        if lines:
            try:
                with session_scope() as db:
                    tickets.record_customer_messages(db, tickets.ticket_by_id(db, ticket_id), lines)
            except IntegrityError:  # another view of this ticket copied them at the same moment
                pass
        return True

    async def ticket_view(request: Request, protocol: str, template: str) -> response.HTTPResponse:
        viewer = request.ctx.viewer
        with session_scope() as db:
            head = tickets.ticket_head(db, protocol)
        if head is None:
            return error_page(404, "Chamado não encontrado. Confira o protocolo.", viewer)
        synced = await copy_customer_messages(head.id, head.sender_id, head.created_at, head.resolved_at)
        with session_scope() as db:
            ticket = tickets.get_ticket(db, protocol)
            context = dict(ticket=ticket, synced=synced, deliveries=tickets.delivery_states(db, ticket))
            if template == "_conversation.html":
                return response.html(render(template, **context))
            allowed = tickets.can_act(agents.agent(db, viewer.agent_id), ticket)
            return page(
                template, viewer=viewer, section="fila", allowed=allowed, statuses=list(TicketStatus),
                team=agents.active_agents(db) if viewer.supervisor and allowed else [],
                done=DONE.get(request.args.get("ok") or ""), form_key=secrets.token_urlsafe(16),
                problem=EMPTY_TEXT if request.args.get("erro") == "vazio" else "", **context,
            )

    @app.get(f"{PREFIX}/chamados/<protocol:str>")
    @requires_agent
    async def ticket_page(request: Request, protocol: str) -> response.HTTPResponse:
        return await ticket_view(request, protocol, "ticket.html")

    @app.get(f"{PREFIX}/chamados/<protocol:str>/conversa")
    @requires_agent
    async def conversation(request: Request, protocol: str) -> response.HTTPResponse:
        return await ticket_view(request, protocol, "_conversation.html")

    async def act(request: Request, protocol: str, action, done: str,
                  deliver: bool = False) -> response.HTTPResponse:
        """Runs ``action(db, ticket, agent)`` for the session's agent, then back to the ticket."""
        viewer = request.ctx.viewer
        url = f"{PREFIX}/chamados/{protocol}"
        try:
            with session_scope() as db:
                ticket = tickets.get_ticket(db, protocol)
                if ticket is None:
                    return error_page(404, "Chamado não encontrado. Confira o protocolo.", viewer)
                conversation = ticket.sender_id
                action(db, ticket, agents.agent(db, viewer.agent_id))
        except tickets.NotAllowed:
            return error_page(403, "Este chamado está atribuído a outra pessoa. "
                                   "Só ela ou um supervisor pode alterá-lo.", viewer)
        except tickets.TicketError:
            return response.redirect(f"{url}?erro=vazio", status=303)
        if deliver:
            await deliver_now(app.ctx.handlers, conversation)
        return response.redirect(f"{url}?ok={done}", status=303)

    @app.post(f"{PREFIX}/chamados/<protocol:str>/atribuir")
    @requires_agent
    async def assign(request: Request, protocol: str) -> response.HTTPResponse:
        choice = _form(request, "para")

        def to_whom(db, ticket, agent):
            if choice == "eu":
                to = agent
            elif not choice:
                to = None
            else:
                to = agents.agent(db, int(choice)) if choice.isdigit() and len(choice) <= 9 else None
                if to is None:
                    raise InvalidUsage("unknown agent")
            tickets.assign(db, ticket, agent, to)

        # Unassigning a live chat gives it back to the bot: deliver that at once.
        return await act(request, protocol, to_whom, "atribuido", deliver=True)

    @app.post(f"{PREFIX}/chamados/<protocol:str>/status")
    @requires_agent
    async def change_status(request: Request, protocol: str) -> response.HTTPResponse:
        status = _choice(TicketStatus, _form(request, "status"))
        if status is None:
            raise InvalidUsage("no status")
        return await act(request, protocol, lambda db, t, a: tickets.change_status(db, t, a, status),
                         "status", deliver=True)

    @app.post(f"{PREFIX}/chamados/<protocol:str>/responder")
    @requires_agent
    async def reply(request: Request, protocol: str) -> response.HTTPResponse:
        text, form_key = _form(request, "texto"), _form(request, "envio")[:58] or None
        return await act(request, protocol,
                         lambda db, t, a: tickets.reply(db, t, a, text, form_key=form_key), "resposta",
                         deliver=True)

    @app.post(f"{PREFIX}/chamados/<protocol:str>/nota")
    @requires_agent
    async def note(request: Request, protocol: str) -> response.HTTPResponse:
        text = _form(request, "texto")
        return await act(request, protocol, lambda db, t, a: tickets.add_note(db, t, a, text), "nota")

    @app.post(f"{PREFIX}/chamados/<protocol:str>/devolver")
    @requires_agent
    async def hand_back(request: Request, protocol: str) -> response.HTTPResponse:
        return await act(request, protocol, tickets.hand_back, "devolvido", deliver=True)

    # --- Insights -------------------------------------------------------------

    @app.get(f"{PREFIX}/indicadores")
    @requires_agent
    async def insights_page(request: Request) -> response.HTTPResponse:
        with session_scope() as db:
            figures = insights.ticket_figures(db)
            pending = outbox.pending_count(db)
            failed = outbox.failures(db)
            protocols = tickets.protocols(db, {item.ticket_id for item in failed})
        chat, chat_error = None, False
        try:
            chat = await asyncio.get_running_loop().run_in_executor(
                None, insights.chat_figures, app.ctx.config.tracker_database_url, utcnow())
        except SQLAlchemyError:
            log.exception("could not read the tracker store")
            chat_error = True
        return page("insights.html", viewer=request.ctx.viewer, section="indicadores",
                    figures=figures, chat=chat, chat_error=chat_error, pending=pending,
                    failed=[(item, protocols.get(item.ticket_id)) for item in failed],
                    kinds=DELIVERY_KINDS)
