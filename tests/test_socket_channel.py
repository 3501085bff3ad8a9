"""The website widget's Socket.IO channel (channels/socket.py) against the real
stack: python-socketio's client talks to the Rasa server, tokens are signed
here with the stack's CHAT_JWT_SECRET for users of the stack's database."""

from __future__ import annotations

import asyncio
import queue
import re
import time
import uuid

import jwt
import pytest
import requests
import socketio
from sqlalchemy import select

from conftest import STACK_SECRETS
from portal.db import session_scope
from portal.models import Order, OrderStatus, Reseller, Role, User

SECRET = STACK_SECRETS["CHAT_JWT_SECRET"]
AUDIENCE = "my-scansource-chat"
EXPIRED = "Sua sessão do portal expirou. Recarregue a página."
INVALID = "Não foi possível confirmar o seu login no portal."


class Refused(Exception):
    def __init__(self, error: dict) -> None:
        super().__init__(error.get("message"))
        self.message = error.get("message") or ""
        self.reason = (error.get("data") or {}).get("reason")


class Chat:
    """One browser tab: a socket, what it received, in order."""

    def __init__(self, stack, auth: dict | None = None) -> None:
        self.client = socketio.Client()
        self.bot: queue.Queue = queue.Queue()
        self.confirmed: queue.Queue = queue.Queue()
        self.errors: queue.Queue = queue.Queue()
        self.client.on("bot_uttered", handler=self.bot.put)
        self.client.on("session_confirm", handler=self.confirmed.put)
        self.client.on("connect", handler=lambda: self.errors.put(None))
        self.client.on("connect_error", handler=self.errors.put)
        # The client's own wait for a refused connection lasts its whole
        # timeout: wait here for whichever comes first.
        self.client.connect(stack.rasa_url, auth=auth, transports=["polling"], wait=False)
        error = self.errors.get(timeout=15)
        if error is not None:
            self.client.disconnect()
            raise Refused(error)

    def session(self, **data) -> dict:
        self.client.emit("session_request", data)
        return self.confirmed.get(timeout=10)

    def say(self, message, **extra) -> None:
        self.client.emit("user_uttered", {"message": message, **extra})

    def replies(self, until: str, timeout: float = 30) -> str:
        """Bot texts received until one contains ``until``."""
        texts, deadline = [], time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no reply with {until!r}; got {texts!r}")
            try:
                message = self.bot.get(timeout=left)
            except queue.Empty:
                continue
            texts.append(message.get("text") or "")
            if until in texts[-1]:
                return "\n".join(texts)

    def nothing_within(self, seconds: float) -> list:
        time.sleep(seconds)
        got = []
        while not self.bot.empty():
            got.append(self.bot.get_nowait())
        return got

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def chats():
    opened: list[Chat] = []

    def open_chat(stack, auth=None) -> Chat:
        chat = Chat(stack, auth)
        opened.append(chat)
        return chat

    yield open_chat
    for chat in opened:
        chat.close()


def token(user: User, cnpj: str | None, *, secret: str = SECRET, lifetime: int = 600, issued: float | None = None,
          **changes) -> str:
    issued = int(issued if issued is not None else time.time())
    claims = {"aud": AUDIENCE, "iat": issued, "exp": issued + lifetime, "cpf": user.cpf, "cnpj": cnpj,
              "role": user.role.value, **changes}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm="HS256")


# Users the demo page lists (the first ones of each profile) are left to the
# browser test; each test here takes others, so conversations never mix.
_taken: set[int] = set()


def a_user(stack, role: Role = Role.GERENCIADOR, with_order: OrderStatus | None = None) -> tuple[User, str]:
    with session_scope(stack.database_url) as db:
        rows = db.execute(select(User, Reseller.cnpj).join(Reseller, Reseller.id == User.reseller_id)
                          .where(User.role == role, User.active.is_(True)).order_by(User.id.desc())).all()
        for user, cnpj in rows:
            if user.id in _taken:
                continue
            if with_order and db.scalar(select(Order.id).where(Order.reseller_id == user.reseller_id,
                                                               Order.status == with_order)) is None:
                continue
            _taken.add(user.id)
            return user, cnpj
    raise AssertionError("no user left for this test")


def tracker_events(stack, conversation: str) -> list[dict]:
    answer = requests.get(f"{stack.rasa_url}/conversations/{conversation}/tracker",
                          params={"token": stack.auth_token}, timeout=10)
    answer.raise_for_status()
    return answer.json()["events"]


def user_texts(stack, conversation: str) -> list[str]:
    return [e.get("text") for e in tracker_events(stack, conversation) if e["event"] == "user"]


def saved(stack, conversation: str, check=lambda texts: bool(texts), timeout: float = 10) -> list[str]:
    """The user texts of the conversation once ``check`` holds: Rasa sends the
    replies first and stores the conversation after them."""
    deadline = time.monotonic() + timeout
    while not check(texts := user_texts(stack, conversation)):
        assert time.monotonic() < deadline, f"not stored in {conversation}: {texts!r}"
        time.sleep(0.2)
    return texts


# --- Logged in with the portal's token ---------------------------------------

def test_a_portal_token_binds_the_conversation_and_answers_without_a_cpf(stack, chats):
    user, cnpj = a_user(stack, with_order=OrderStatus.EM_TRANSPORTE)
    with session_scope(stack.database_url) as db:
        order = db.scalars(select(Order).where(Order.reseller_id == user.reseller_id,
                                               Order.status == OrderStatus.EM_TRANSPORTE)).first()
    chat = chats(stack, {"token": token(user, cnpj)})
    assert chat.session() == {"session_id": f"web:{user.id}"}
    chat.say(f"status do pedido {order.number}")
    answer = chat.replies(until=f"Pedido {order.number}")
    assert "em transporte" in answer and order.tracking_code in answer
    assert "CPF" not in answer and "código" not in answer
    saved(stack, f"web:{user.id}")
    tracker = requests.get(f"{stack.rasa_url}/conversations/web:{user.id}/tracker",
                           params={"token": stack.auth_token}, timeout=10).json()
    assert tracker["latest_input_channel"] == "socketio"
    assert tracker["slots"]["authenticated"] is True and tracker["slots"]["auth_user_id"] == user.id


def test_a_formatted_cpf_and_cnpj_in_the_token_are_the_same_user(stack, chats):
    from portal.ids import format_cnpj, format_cpf

    user, cnpj = a_user(stack, Role.VISUALIZADOR)
    chat = chats(stack, {"token": token(user, format_cnpj(cnpj), cpf=format_cpf(user.cpf))})
    assert chat.session()["session_id"] == f"web:{user.id}"


def _other_cnpj(stack, cnpj: str) -> str:
    with session_scope(stack.database_url) as db:
        return db.scalar(select(Reseller.cnpj).where(Reseller.cnpj != cnpj).order_by(Reseller.id))


BAD_TOKENS = {
    "expired": (lambda s, u, c: token(u, c, issued=time.time() - 1200), EXPIRED, "token_expired"),
    "wrong secret": (lambda s, u, c: token(u, c, secret="not-the-stack-secret-0123456789abcdef"),
                     INVALID, "token_invalid"),
    "wrong cnpj": (lambda s, u, c: token(u, _other_cnpj(s, c)), INVALID, "token_invalid"),
    "wrong role": (lambda s, u, c: token(u, c, role=Role.ADMINISTRADOR.value), INVALID, "token_invalid"),
    "unknown role": (lambda s, u, c: token(u, c, role="Dono"), INVALID, "token_invalid"),
    "unknown cpf": (lambda s, u, c: token(u, c, cpf="52998224725"), INVALID, "token_invalid"),
    "lives too long": (lambda s, u, c: token(u, c, lifetime=16 * 60), INVALID, "token_invalid"),
    "other audience": (lambda s, u, c: token(u, c, aud="my-scansource-chat-anon"), INVALID, "token_invalid"),
    "no iat": (lambda s, u, c: token(u, c, iat=None), INVALID, "token_invalid"),
    "no exp": (lambda s, u, c: token(u, c, exp=None), INVALID, "token_invalid"),
    "no cnpj": (lambda s, u, c: token(u, None), INVALID, "token_invalid"),
    "unsigned": (lambda s, u, c: jwt.encode({"aud": AUDIENCE, "iat": int(time.time()),
                                             "exp": int(time.time()) + 600, "cpf": u.cpf, "cnpj": c,
                                             "role": u.role.value}, None, algorithm="none"),
                 INVALID, "token_invalid"),
    "garbage": (lambda s, u, c: "isto-nao-e-um-token", INVALID, "token_invalid"),
    "not text": (lambda s, u, c: 12345, INVALID, "token_invalid"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_a_bad_portal_token_is_refused_with_a_message(stack, case):
    make, message, reason = BAD_TOKENS[case]
    user, cnpj = a_user(stack, Role.GERENCIADOR) if case == "wrong role" else a_user(stack, Role.VISUALIZADOR)
    _taken.discard(user.id)  # nothing was said in its conversation
    with pytest.raises(Refused) as refused:
        Chat(stack, {"token": make(stack, user, cnpj)})
    assert refused.value.message.startswith(message) and refused.value.reason == reason


def test_a_bad_token_is_never_downgraded_to_an_anonymous_conversation(stack, chats):
    ticket = chats(stack).session()["anon"]
    with pytest.raises(Refused):
        Chat(stack, {"token": "forjado.forjado.forjado", "anon": ticket})


def test_the_client_cannot_choose_another_users_conversation(stack, chats):
    alice, alice_cnpj = a_user(stack)
    bob, bob_cnpj = a_user(stack)
    bob_chat = chats(stack, {"token": token(bob, bob_cnpj)})
    assert bob_chat.session()["session_id"] == f"web:{bob.id}"
    alice_chat = chats(stack, {"token": token(alice, alice_cnpj)})
    assert alice_chat.session(session_id=f"web:{bob.id}") == {"session_id": f"web:{alice.id}"}
    marker = f"esqueci minha senha {uuid.uuid4().hex[:6]}"
    alice_chat.say(marker, session_id=f"web:{bob.id}")
    assert "Para criar uma nova senha" in alice_chat.replies(until="Para criar uma nova senha")
    assert bob_chat.nothing_within(2) == []
    saved(stack, f"web:{alice.id}", lambda texts: marker in texts)
    assert marker not in user_texts(stack, f"web:{bob.id}")


def test_client_metadata_is_not_kept(stack, chats):
    user, cnpj = a_user(stack)
    chat = chats(stack, {"token": token(user, cnpj)})
    chat.session()
    chat.say("esqueci minha senha", metadata={"injetado": "sim", "cpf": "52998224725", "authenticated": True},
             customData={"injetado": "sim"})
    chat.replies(until="Para criar uma nova senha")
    saved(stack, f"web:{user.id}")
    said = [e for e in tracker_events(stack, f"web:{user.id}") if e["event"] == "user"]
    assert said and all("injetado" not in repr(e.get("metadata")) for e in said)
    assert all("52998224725" not in repr(e) for e in said)


def test_long_messages_are_cut_and_non_text_ignored(stack, chats):
    user, cnpj = a_user(stack)
    chat = chats(stack, {"token": token(user, cnpj)})
    chat.session()
    chat.say(12345)
    chat.say(["lista"])
    chat.say(None)
    chat.client.emit("user_uttered", "só texto, sem objeto")
    chat.say("preciso de ajuda " * 400)
    chat.replies(until="longa demais")
    assert [len(text) for text in saved(stack, f"web:{user.id}")] == [5000]


def test_every_tab_of_the_conversation_gets_the_replies(stack, chats):
    user, cnpj = a_user(stack)
    first = chats(stack, {"token": token(user, cnpj)})
    second = chats(stack, {"token": token(user, cnpj)})
    first.session(), second.session()
    first.say("esqueci minha senha")
    first.replies(until="Para criar uma nova senha")
    second.replies(until="Para criar uma nova senha")


def test_an_agents_reply_reaches_the_open_socket(stack, chats):
    user, cnpj = a_user(stack)
    chat = chats(stack, {"token": token(user, cnpj)})
    chat.session()
    chat.say("esqueci minha senha")
    chat.replies(until="Para criar uma nova senha")
    reply = f"Olá! Aqui é a Ana, do pós-venda. {uuid.uuid4().hex[:6]}"
    answer = requests.post(
        f"{stack.rasa_url}/conversations/web:{user.id}/tracker/events",
        params={"token": stack.auth_token, "execute_side_effects": "true", "output_channel": "latest"},
        json=[{"event": "bot", "text": reply, "metadata": {"handoff": True}}], timeout=10)
    answer.raise_for_status()
    assert chat.replies(until=reply, timeout=10).endswith(reply)


# --- Anonymous ---------------------------------------------------------------

def test_an_anonymous_visitor_gets_a_server_chosen_conversation_and_keeps_it(stack, chats):
    first = chats(stack).session(session_id="web:1")
    assert re.fullmatch(r"web-anon:[0-9a-f]{32}", first["session_id"])
    claims = jwt.decode(first["anon"], SECRET, algorithms=["HS256"], audience="my-scansource-chat-anon")
    assert f"web-anon:{claims['sub']}" == first["session_id"]
    assert 29 * 86400 < claims["exp"] - time.time() <= 30 * 86400

    again = chats(stack, {"anon": first["anon"]})
    assert again.session()["session_id"] == first["session_id"]
    again.say("esqueci minha senha")
    again.replies(until="Para criar uma nova senha")
    assert saved(stack, first["session_id"]) == ["esqueci minha senha"]
    other = chats(stack).session()
    assert other["session_id"] != first["session_id"]


def _forged_tickets(stack, chats) -> dict:
    real = chats(stack).session()["anon"]
    claims = jwt.decode(real, SECRET, algorithms=["HS256"], audience="my-scansource-chat-anon")
    user, cnpj = a_user(stack, Role.VISUALIZADOR)
    _taken.discard(user.id)
    return {
        "other secret": jwt.encode(claims, "not-the-stack-secret-0123456789abcdef", algorithm="HS256"),
        "tampered": real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB"),
        "chosen id": jwt.encode({**claims, "sub": "minha-conversa"}, "x" * 32, algorithm="HS256"),
        "a portal token": token(user, cnpj),
        "an id, not a ticket": "web-anon:" + "0" * 32,
    }


def test_a_forged_anonymous_ticket_is_refused(stack, chats):
    for name, ticket in _forged_tickets(stack, chats).items():
        with pytest.raises(Refused) as refused:
            Chat(stack, {"anon": ticket})
        assert refused.value.reason == "anon_ticket", name
        assert refused.value.message.startswith("Não foi possível retomar a conversa anterior"), name


def test_an_expired_anonymous_ticket_starts_a_new_conversation(stack, chats):
    old = int(time.time()) - 31 * 86400
    expired = jwt.encode({"aud": "my-scansource-chat-anon", "sub": "ab" * 16, "iat": old, "exp": old + 30 * 86400},
                         SECRET, algorithm="HS256")
    confirmed = chats(stack, {"anon": expired}).session()
    assert re.fullmatch(r"web-anon:[0-9a-f]{32}", confirmed["session_id"])
    assert confirmed["session_id"] != "web-anon:" + "ab" * 16


def test_without_anonymous_chat_only_the_portal_login_connects(stack, monkeypatch):
    """The channel object itself, as Rasa builds it, with CHAT_ALLOW_ANONYMOUS=false."""
    from channels.socket import LOGIN_REQUIRED, PortalSocketIOInput, Refused as ChannelRefused

    monkeypatch.setenv("CHAT_ALLOW_ANONYMOUS", "false")
    monkeypatch.setenv("CHAT_JWT_SECRET", SECRET)
    monkeypatch.setenv("DATABASE_URL", stack.database_url)
    channel = PortalSocketIOInput.from_credentials({"session_persistence": True})
    for auth in (None, {}, {"anon": None}):
        with pytest.raises(ChannelRefused) as refused:
            asyncio.run(channel.bind(auth))
        assert refused.value.problem == LOGIN_REQUIRED
    user, cnpj = a_user(stack, Role.ADMINISTRADOR)
    assert asyncio.run(channel.bind({"token": token(user, cnpj)})).conversation_id == f"web:{user.id}"
