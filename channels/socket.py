"""The website widget's Socket.IO channel, bound to the portal login.

Rasa's ``SocketIOInput`` lets the client choose its ``session_id`` (and send
metadata); here the conversation comes only from what the server verified
when the socket connected (portal.chat_identity):

- ``auth: {token}``: a JWT the portal signed for its logged-in user (HS256 with
  ``CHAT_JWT_SECRET``, ``aud`` "my-scansource-chat", ``iat`` and ``exp`` at most
  15 minutes apart, claims ``cpf``, ``cnpj`` and ``role``), matching an active
  user of that reseller with that profile: conversation ``web:<user id>``,
  which ``action_session_start`` starts identified. Any problem with the token
  refuses the connection with a pt-BR message (never a silent fallback to an
  anonymous conversation).
- no token: an anonymous conversation ``web-anon:<128 random bits>`` chosen by
  the server (unless ``CHAT_ALLOW_ANONYMOUS=false``). ``session_confirm``
  carries a signed ticket for it (``aud`` "my-scansource-chat-anon", 30 days);
  presented again as ``auth: {anon}`` it resumes the same conversation. A
  forged ticket is refused; an expired one gets a new conversation.

Every socket joins the room of its conversation, so replies (and agents'
replies appended later through Rasa's HTTP API) reach each open tab.
``session_request`` and ``user_uttered`` ignore any ``session_id`` or
``metadata`` the client sends. ``name()`` stays "socketio", so Rasa's
``output_channel=latest`` finds this channel.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Optional, Text

import jwt
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio.exceptions import ConnectionRefusedError

from channels.config import socket_settings
from portal import chat_identity
from portal.chat_identity import WEB, WEB_ANONYMOUS, sender_id
from portal.db import session_scope
from portal.models import Role
from portal.settings import settings

logger = logging.getLogger(__name__)

PORTAL_AUDIENCE = "my-scansource-chat"
ANONYMOUS_AUDIENCE = "my-scansource-chat-anon"
MAX_TOKEN_SECONDS = 15 * 60
ANONYMOUS_TICKET_SECONDS = 30 * 24 * 3600
MAX_MESSAGE_CHARS = 5000
# Clock difference tolerated between the portal and this server.
LEEWAY_SECONDS = 30
_MAX_TOKEN_CHARS = 4096
_ANONYMOUS_ID = re.compile(r"[0-9a-f]{32}")

# Why a connection is refused: the message the widget shows, and a reason
# code it can act on (``anon_ticket``: forget the stored ticket).
EXPIRED = ("Sua sessão do portal expirou. Recarregue a página.", "token_expired")
INVALID = ("Não foi possível confirmar o seu login no portal. Recarregue a página "
           "ou entre no portal de novo.", "token_invalid")
LOGIN_REQUIRED = ("Entre no portal My ScanSource para usar o chat.", "login_required")
BAD_TICKET = ("Não foi possível retomar a conversa anterior. Recarregue a página "
              "para começar uma nova.", "anon_ticket")
UNAVAILABLE = ("O chat está indisponível no momento. Tente de novo em alguns minutos.", "unavailable")


class Refused(Exception):
    def __init__(self, problem: tuple[str, str]) -> None:
        super().__init__(problem[1])
        self.problem = problem


@dataclass(frozen=True)
class Binding:
    """What the server verified for one socket: its conversation."""

    conversation_id: str
    anonymous_ticket: Optional[str] = None

    def confirmation(self) -> Dict[str, str]:
        confirmed = {"session_id": self.conversation_id}
        if self.anonymous_ticket:
            confirmed["anon"] = self.anonymous_ticket
        return confirmed


def _digits(value: Any) -> str:
    return re.sub(r"\D", "", value) if isinstance(value, str) else ""


def portal_claims(token: Any, secret: str) -> Dict[str, str]:
    """The cpf, cnpj and role of a valid portal token (raises Refused)."""
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_CHARS:
        raise Refused(INVALID)
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], audience=PORTAL_AUDIENCE, leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "aud", "cpf", "cnpj", "role"]},
        )
    except jwt.ExpiredSignatureError:
        raise Refused(EXPIRED) from None
    except jwt.PyJWTError:
        raise Refused(INVALID) from None
    if not all(isinstance(claims[name], (int, float)) for name in ("exp", "iat")) \
            or claims["exp"] - claims["iat"] > MAX_TOKEN_SECONDS:
        raise Refused(INVALID)
    cpf, cnpj, role = _digits(claims["cpf"]), _digits(claims["cnpj"]), claims["role"]
    if len(cpf) != 11 or len(cnpj) != 14 or role not in {r.value for r in Role}:
        raise Refused(INVALID)
    return {"cpf": cpf, "cnpj": cnpj, "role": role}


def portal_user(claims: Dict[str, str]) -> Optional[int]:
    """The id of the active user with that CPF, of that reseller, with that profile."""
    with session_scope() as session:
        return chat_identity.portal_user(session, claims["cpf"], claims["cnpj"], claims["role"])


def anonymous_ticket(anonymous_id: str, secret: str, now: Optional[float] = None) -> str:
    issued = int(now if now is not None else time.time())
    return jwt.encode({"aud": ANONYMOUS_AUDIENCE, "sub": anonymous_id, "iat": issued,
                       "exp": issued + ANONYMOUS_TICKET_SECONDS}, secret, algorithm="HS256")


def anonymous_id_of(ticket: Any, secret: str) -> Optional[str]:
    """The anonymous id a ticket we issued stands for; None once it expired
    (a new conversation then); Refused when it is not ours."""
    if not isinstance(ticket, str) or not ticket or len(ticket) > _MAX_TOKEN_CHARS:
        raise Refused(BAD_TICKET)
    try:
        claims = jwt.decode(ticket, secret, algorithms=["HS256"], audience=ANONYMOUS_AUDIENCE,
                            options={"require": ["exp", "sub", "aud"]})
    except jwt.ExpiredSignatureError:
        return None
    except jwt.PyJWTError:
        raise Refused(BAD_TICKET) from None
    if not isinstance(claims["sub"], str) or not _ANONYMOUS_ID.fullmatch(claims["sub"]):
        raise Refused(BAD_TICKET)
    return claims["sub"]


class PortalSocketIOInput(SocketIOInput):
    """Rasa's Socket.IO channel with the conversation bound to the portal login."""

    @classmethod
    def name(cls) -> Text:
        return "socketio"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = socket_settings()

    async def bind(self, auth: Any) -> Binding:
        """The conversation of a connecting socket, from its ``auth`` payload."""
        auth = auth if isinstance(auth, dict) else {}
        secret = settings().chat_jwt_secret
        if auth.get("token") is not None:
            claims = portal_claims(auth["token"], secret)
            try:
                user_id = await asyncio.to_thread(portal_user, claims)
            except Exception:  # noqa: BLE001 - the portal database is down
                logger.exception("could not check a portal chat token")
                raise Refused(UNAVAILABLE) from None
            if user_id is None:
                raise Refused(INVALID)
            return Binding(sender_id(WEB, str(user_id)))
        if not self.settings.allow_anonymous:
            raise Refused(LOGIN_REQUIRED)
        anonymous_id = anonymous_id_of(auth["anon"], secret) if auth.get("anon") is not None else None
        anonymous_id = anonymous_id or secrets.token_hex(16)
        # A fresh ticket each time: 30 days from the latest visit.
        return Binding(sender_id(WEB_ANONYMOUS, anonymous_id), anonymous_ticket(anonymous_id, secret))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # Same server as Rasa's: cross-origin requests are left to the Rasa
        # server's own CORS setting (--cors).
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[])
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio  # get_output_channel() sends through it
        namespace = self.namespace

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def binding(sid: Text) -> Optional[Binding]:
            session = await sio.get_session(sid, namespace=namespace)
            return session.get("binding")

        @sio.on("connect", namespace=namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            try:
                bound = await self.bind(auth)
            except Refused as refused:
                message, reason = refused.problem
                logger.info("socket %s refused: %s", sid, reason)
                raise ConnectionRefusedError(message, {"reason": reason}) from None
            await sio.save_session(sid, {"binding": bound}, namespace=namespace)
            sio.enter_room(sid, bound.conversation_id, namespace=namespace)
            return True

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: Text) -> None:
            logger.debug("socket %s disconnected", sid)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: Text, data: Any = None) -> None:
            bound = await binding(sid)
            if bound is not None:
                await sio.emit("session_confirm", bound.confirmation(), room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: Text, data: Any = None) -> None:
            bound = await binding(sid)
            text = data.get("message") if isinstance(data, dict) else None
            if bound is None or not isinstance(text, str):
                return
            output = SocketIOOutput(sio, self.bot_message_evt)
            await on_new_message(UserMessage(text[:MAX_MESSAGE_CHARS], output, bound.conversation_id,
                                             input_channel=self.name()))

        return socketio_webhook
