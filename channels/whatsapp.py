"""WhatsApp Cloud API (Meta): the webhook Meta calls and the Graph API we answer through.

Incoming, ``/webhooks/whatsapp/webhook``:
- ``GET``: Meta's subscription check (``hub.verify_token`` = ``WHATSAPP_VERIFY_TOKEN``).
- ``POST``: the raw body is checked before anything else: at most 256 KB
  (413), then ``X-Hub-Signature-256`` = HMAC-SHA256 of the body with
  ``WHATSAPP_APP_SECRET`` (403), then JSON of the documented shape (400).
  Meta gets its 200 at once and the messages are processed in a background
  task, one after the other, because Meta retries slow webhooks.
- A message id is processed at most once (``chat_identity.first_delivery``:
  a unique row in the portal database, so it holds across replicas and
  restarts), because Meta retries for days.
- The conversation id is ``wa:<wa_id>``, the id exactly as Meta sent it, and
  identity is never taken from the message: a number is identified by the
  CPF and e-mailed code in the chat (``actions/identity.py``).
- Text goes to Rasa, with "2" or an option's title turned back into the
  option's payload (``channels.rendering``); a tapped button or list row sends
  its id, which is the payload whenever it fits. Media and other types get a
  short pt-BR answer without reaching the NLU. Status callbacks are only logged.

Outgoing, ``POST {WHATSAPP_GRAPH_URL}/{WHATSAPP_PHONE_NUMBER_ID}/messages``:
text (split at 4,096 characters), up to 3 buttons as reply buttons, 4 to 10
as a list, more as numbered text; images by link; custom JSON with a
``type`` as it is. Calls run in a thread (the event loop never waits on the
network) and are tried up to 3 times on timeouts, connection errors, 429 and
5xx. Outside WhatsApp's 24-hour window (an agent answering a day later) the
approved template ``WHATSAPP_TEMPLATE_NAME`` carries the text, or nothing is
sent when there is none.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import logging
import re
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Optional, Set, Text

import requests
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.config import WhatsAppSettings, whatsapp_settings
from channels.rendering import chosen_payload, latest_buttons, numbered, stored_tracker
from portal import chat_identity
from portal.db import session_scope
from portal.models import utcnow

logger = logging.getLogger(__name__)

CHANNEL = chat_identity.WHATSAPP  # "wa": conversation ids and inbound message ids
MAX_BODY_BYTES = 256 * 1024
UNSUPPORTED_TEXT = "Por enquanto eu só consigo ler mensagens de texto. 🙂 Pode escrever sua dúvida?"
CHOOSE_TEXT = "Escolha uma opção:"
LIST_BUTTON = "Ver opções"

# Cloud API limits.
TEXT_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
MAX_REPLY_BUTTONS = 3
BUTTON_TITLE_LIMIT = 20
BUTTON_ID_LIMIT = 256
MAX_LIST_ROWS = 10
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
ROW_ID_LIMIT = 200
# A template's body is at most 1,024 characters with its fixed text; the
# parameter may not hold line breaks, tabs or 4+ spaces in a row.
TEMPLATE_PARAMETER_LIMIT = 900
SERVICE_WINDOW = timedelta(hours=24)

ATTEMPTS = 3
BACKOFF_SECONDS = 0.5  # then 1 s

# wa_id: digits today; Meta's business-scoped user ids may carry letters and dots.
_WA_ID = re.compile(r"^[A-Za-z0-9._+-]{1,64}$")
# The id of a button or row whose payload did not fit: its 1-based position.
_INDEX_ID = re.compile(r"^#(\d{1,2})$")
_MEDIA_WITH_CAPTION = ("image", "video", "document")


class BadPayload(ValueError):
    """The webhook body is not the shape Meta documents."""


@dataclass(frozen=True)
class Incoming:
    wa_id: str
    message_id: str
    kind: str  # "text" (typed), "reply" (button/list id), "payload" (template button), "unsupported"
    text: str = ""
    reply_id: str = ""


# --- Incoming -------------------------------------------------------------------

def valid_signature(raw: bytes, header: Optional[str], app_secret: str) -> bool:
    """``X-Hub-Signature-256: sha256=<hex>`` is the HMAC-SHA256 of the raw body."""
    if not app_secret or not header:
        return False
    scheme, _, given = header.strip().partition("=")
    if scheme.lower() != "sha256" or not given:
        return False
    expected = hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def _as_list(value: Any, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadPayload(f"{where} must be a list")
    return value


def _as_dict(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise BadPayload(f"{where} must be an object")
    return value


def _text_of(node: Any, key: str, where: str) -> str:
    value = _as_dict(node, where).get(key)
    if not isinstance(value, str):
        raise BadPayload(f"{where}.{key} must be text")
    return value


def _incoming(message: Any) -> Optional[Incoming]:
    message = _as_dict(message, "message")
    wa_id, message_id, kind = message.get("from"), message.get("id"), message.get("type")
    if not isinstance(wa_id, str) or not _WA_ID.match(wa_id):
        raise BadPayload("message.from must be a WhatsApp id")
    if not isinstance(message_id, str) or not message_id.strip() or not isinstance(kind, str):
        raise BadPayload("message.id and message.type must be text")
    if kind == "system":  # e.g. "the customer changed numbers": nothing to answer
        logger.info("whatsapp: system message %s ignored", message_id)
        return None
    if kind == "text":
        return Incoming(wa_id, message_id, "text", text=_text_of(message.get("text"), "body", "text"))
    if kind == "interactive":
        interactive = _as_dict(message.get("interactive"), "interactive")
        reply_kind = interactive.get("type")
        if reply_kind in ("button_reply", "list_reply"):
            reply = _as_dict(interactive.get(reply_kind), reply_kind)
            reply_id, title = reply.get("id"), reply.get("title")
            return Incoming(wa_id, message_id, "reply",
                            text=title if isinstance(title, str) else "",
                            reply_id=reply_id if isinstance(reply_id, str) else "")
    elif kind == "button":  # a template's quick-reply button
        button = _as_dict(message.get("button"), "button")
        payload, text = button.get("payload"), button.get("text")
        chosen = payload if isinstance(payload, str) and payload else text
        if isinstance(chosen, str) and chosen:
            return Incoming(wa_id, message_id, "payload", text=chosen)
    elif kind in _MEDIA_WITH_CAPTION:  # a caption is the customer's text
        media = message.get(kind)
        caption = media.get("caption") if isinstance(media, dict) else None
        if isinstance(caption, str) and caption.strip():
            return Incoming(wa_id, message_id, "text", text=caption)
    return Incoming(wa_id, message_id, "unsupported")


def parse_webhook(body: Any, phone_number_id: str = "") -> tuple[List[Incoming], List[dict]]:
    """The messages (in order) and status callbacks of a webhook body.

    Raises ``BadPayload`` unless it is ``{"object": "whatsapp_business_account",
    "entry": [{"changes": [{"field": ..., "value": {...}}]}]}``. Changes of
    other fields, and messages to another business number of the same app,
    are skipped.
    """
    body = _as_dict(body, "body")
    if body.get("object") != "whatsapp_business_account":
        raise BadPayload('object must be "whatsapp_business_account"')
    messages: List[Incoming] = []
    statuses: List[dict] = []
    for entry in _as_list(body.get("entry"), "entry"):
        for change in _as_list(_as_dict(entry, "entry").get("changes"), "changes"):
            change = _as_dict(change, "change")
            value = _as_dict(change.get("value"), "value")
            if not isinstance(change.get("field"), str):
                raise BadPayload("change.field must be text")
            if change["field"] != "messages":
                continue
            found = [_incoming(m) for m in _as_list(value.get("messages"), "messages")]
            states = [_as_dict(s, "status") for s in _as_list(value.get("statuses"), "statuses")]
            to_number = (value.get("metadata") or {}).get("phone_number_id") \
                if isinstance(value.get("metadata"), dict) else None
            if phone_number_id and to_number and str(to_number) != phone_number_id:
                logger.warning("whatsapp: webhook for another business number (%s) ignored", to_number)
                continue
            messages += [m for m in found if m is not None]
            statuses += states
    return messages, statuses


def _log_statuses(statuses: List[dict]) -> None:
    for status in statuses:
        if status.get("status") == "failed":
            errors = status.get("errors") if isinstance(status.get("errors"), list) else []
            logger.error("whatsapp: message %s to %s failed: %s", status.get("id"),
                         _masked(str(status.get("recipient_id", ""))),
                         "; ".join(f"{e.get('code')} {e.get('title')}" for e in errors if isinstance(e, dict)))
        else:
            logger.debug("whatsapp: message %s %s", status.get("id"), status.get("status"))


def _masked(wa_id: str) -> str:
    return f"…{wa_id[-4:]}" if len(wa_id) > 4 else "…"


class _SenderLocks:
    """One lock per sender, in arrival order: a sender's messages never overtake each other."""

    def __init__(self) -> None:
        self._locks: Dict[str, asyncio.Lock] = {}
        self._users: Dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args))


def _with_session(database_url: Optional[str], fn: Callable[[Any], Any]) -> Any:
    with session_scope(database_url) as session:
        return fn(session)


class WhatsAppInput(InputChannel):
    """Meta's webhook for the WhatsApp Cloud API."""

    @classmethod
    def name(cls) -> Text:
        return "whatsapp"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "InputChannel":
        return cls()  # everything comes from the environment (channels/config.py)

    def __init__(self, settings: Optional[WhatsAppSettings] = None,
                 database_url: Optional[str] = None) -> None:
        self.settings = settings or whatsapp_settings()
        self.database_url = database_url  # None: DATABASE_URL
        self.http = requests.Session()
        self._tasks: Set[asyncio.Task] = set()
        self._locks = _SenderLocks()
        if not self.settings.app_secret:
            logger.warning("whatsapp: WHATSAPP_APP_SECRET is empty: every webhook is refused")
        elif not self.settings.configured:
            logger.warning("whatsapp: WHATSAPP_ACCESS_TOKEN or WHATSAPP_PHONE_NUMBER_ID is empty: "
                           "nothing can be sent")

    def get_output_channel(self) -> OutputChannel:
        """For Rasa's HTTP API (agents' replies, ``output_channel=latest``): a
        message that cannot be delivered raises, so the API call fails before
        the conversation is saved and the console's outbox tries again."""
        return WhatsAppOutput(self.settings, self.http, self.database_url, strict=True)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("whatsapp_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            token = request.args.get("hub.verify_token") or ""
            expected = self.settings.verify_token
            if (request.args.get("hub.mode") == "subscribe" and expected
                    and hmac.compare_digest(token.encode(), expected.encode())):
                return response.text(request.args.get("hub.challenge") or "")
            return response.text("Forbidden", status=403)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            raw = request.body or b""
            if len(raw) > MAX_BODY_BYTES:
                return response.text("Payload Too Large", status=413)
            if not valid_signature(raw, request.headers.get("X-Hub-Signature-256"),
                                   self.settings.app_secret):
                logger.warning("whatsapp: webhook with a missing or wrong signature refused")
                return response.text("Forbidden", status=403)
            try:
                messages, statuses = parse_webhook(json.loads(raw.decode("utf-8")),
                                                   self.settings.phone_number_id)
            except (UnicodeDecodeError, ValueError, RecursionError) as error:  # BadPayload is a ValueError
                return response.text(f"Bad Request: {error}"[:200], status=400)
            _log_statuses(statuses)
            if messages:
                self._spawn(self._process(request.app, messages, on_new_message))
            return response.text("OK")

        return webhook

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)  # a reference, or the task may be garbage-collected

        def done(finished: asyncio.Task) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                logger.error("whatsapp: processing a webhook failed", exc_info=finished.exception())

        task.add_done_callback(done)

    async def _process(self, app: Any, messages: List[Incoming],
                       on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        for message in messages:
            async with self._locks.hold(message.wa_id):
                try:
                    await self._handle(app, message, on_new_message)
                except Exception:  # noqa: BLE001 - logged; the next message still goes
                    logger.exception("whatsapp: message %s could not be processed", message.message_id)

    async def _handle(self, app: Any, message: Incoming,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        try:
            first = await _in_thread(_with_session, self.database_url, lambda session: chat_identity.first_delivery(
                session, CHANNEL, message.message_id, message.wa_id))
        except Exception:  # noqa: BLE001 - Meta has its 200 already: better answer twice than never
            logger.exception("whatsapp: could not record message %s; processing it anyway",
                             message.message_id)
            first = True
        if not first:
            logger.info("whatsapp: message %s delivered again, ignored", message.message_id)
            return
        sender = chat_identity.sender_id(CHANNEL, message.wa_id)
        output = WhatsAppOutput(self.settings, self.http, self.database_url)
        if message.kind == "unsupported":
            tracker = await stored_tracker(app, sender)
            if tracker is not None and tracker.is_paused():
                return  # an agent has the conversation: the bot stays silent
            await output.send_text_message(sender, UNSUPPORTED_TEXT)
            return
        text = await self._text_for_rasa(app, sender, message)
        await on_new_message(UserMessage(text, output, sender, input_channel=self.name(),
                                         message_id=message.message_id))

    async def _text_for_rasa(self, app: Any, sender: str, message: Incoming) -> str:
        if message.kind == "payload":
            return message.text
        if message.kind == "reply":
            position = _INDEX_ID.match(message.reply_id)
            if not position:
                return message.reply_id or message.text
            buttons = await self._buttons(app, sender)
            index = int(position.group(1))
            if 1 <= index <= len(buttons) and buttons[index - 1].get("payload"):
                return buttons[index - 1]["payload"]
            return message.text
        return chosen_payload(message.text, await self._buttons(app, sender)) or message.text

    async def _buttons(self, app: Any, sender: str) -> List[Dict[str, Any]]:
        tracker = await stored_tracker(app, sender)
        return latest_buttons(tracker.events) if tracker is not None else []


# --- Outgoing -------------------------------------------------------------------

def split_text(text: str, limit: int = TEXT_LIMIT) -> List[str]:
    """Parts of at most ``limit`` characters, cut at a line break or a space when possible."""
    parts, rest = [], (text or "").strip()
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return parts + ([rest] if rest else [])


def shorten(text: str, limit: int) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _option_ids(buttons: List[Dict[str, Any]], limit: int) -> List[str]:
    """The payload as the id when it fits and is unique; otherwise the position."""
    ids: List[str] = []
    for position, button in enumerate(buttons, start=1):
        payload = str(button.get("payload") or "")
        if not payload or len(payload) > limit or payload in ids or _INDEX_ID.match(payload):
            payload = f"#{position}"
        ids.append(payload)
    return ids


def reply_buttons(body: str, buttons: List[Dict[str, Any]]) -> Dict[str, Any]:
    ids = _option_ids(buttons, BUTTON_ID_LIMIT)
    return {"type": "button", "body": {"text": body},
            "action": {"buttons": [
                {"type": "reply", "reply": {"id": ids[i], "title": shorten(b.get("title", ""), BUTTON_TITLE_LIMIT)}}
                for i, b in enumerate(buttons)]}}


def option_list(body: str, buttons: List[Dict[str, Any]]) -> Dict[str, Any]:
    ids = _option_ids(buttons, ROW_ID_LIMIT)
    rows = []
    for i, button in enumerate(buttons):
        title = " ".join(str(button.get("title", "")).split())
        row = {"id": ids[i], "title": shorten(title, ROW_TITLE_LIMIT)}
        description = button.get("description") or (title if len(title) > ROW_TITLE_LIMIT else "")
        if description:
            row["description"] = shorten(description, ROW_DESCRIPTION_LIMIT)
        rows.append(row)
    return {"type": "list", "body": {"text": body},
            "action": {"button": LIST_BUTTON, "sections": [{"rows": rows}]}}


class DeliveryError(RuntimeError):
    """The Graph API did not take a message (strict output channels only)."""


class WhatsAppOutput(OutputChannel):
    """Sends to ``wa:<wa_id>`` conversations through the Graph API.

    ``strict`` (an agent's reply through Rasa's HTTP API): a message the Graph
    API did not take, or one held outside the 24-hour window for want of a
    template, raises ``DeliveryError``, so the API call fails and the
    console's outbox tries again (the customer may write in the meantime) and
    finally shows it as failed. Otherwise it is logged.
    """

    @classmethod
    def name(cls) -> Text:
        return "whatsapp"

    def __init__(self, settings: Optional[WhatsAppSettings] = None,
                 http: Optional[requests.Session] = None, database_url: Optional[str] = None,
                 strict: bool = False) -> None:
        self.settings = settings or whatsapp_settings()
        self.http = http or requests.Session()
        self.database_url = database_url
        self.strict = strict

    # Rasa's send_response dispatches to these.
    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        wa_id = self._wa_id(recipient_id)
        if wa_id is None or not (text or "").strip():
            return
        if not await self._in_window(wa_id):
            await self._send_template(wa_id, text)
            return
        for part in split_text(text):
            await self._send(wa_id, {"type": "text", "text": {"body": part, "preview_url": True}})

    async def send_text_with_buttons(self, recipient_id: Text, text: Text,
                                     buttons: List[Dict[Text, Any]], **kwargs: Any) -> None:
        if not buttons:
            await self.send_text_message(recipient_id, text)
            return
        if len(buttons) > MAX_LIST_ROWS:  # answered by number (channels.rendering)
            await self.send_text_message(recipient_id, numbered(text, buttons))
            return
        wa_id = self._wa_id(recipient_id)
        if wa_id is None:
            return
        if not await self._in_window(wa_id):
            await self._send_template(wa_id, text)  # a template carries no options
            return
        body = (text or "").strip() or CHOOSE_TEXT
        if len(body) > INTERACTIVE_BODY_LIMIT:  # the text first, then the options
            for part in split_text(body):
                await self._send(wa_id, {"type": "text", "text": {"body": part, "preview_url": True}})
            body = CHOOSE_TEXT
        interactive = (reply_buttons(body, buttons) if len(buttons) <= MAX_REPLY_BUTTONS
                       else option_list(body, buttons))
        await self._send(wa_id, {"type": "interactive", "interactive": interactive})

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        wa_id = self._wa_id(recipient_id)
        if wa_id is None:
            return
        if not await self._in_window(wa_id):
            logger.warning("whatsapp: image to %s not sent: outside the 24-hour window", _masked(wa_id))
            return
        await self._send(wa_id, {"type": "image", "image": {"link": image}})

    async def send_attachment(self, recipient_id: Text, attachment: Any, **kwargs: Any) -> None:
        if isinstance(attachment, str):  # a link stays a link, as text
            await self.send_text_message(recipient_id, attachment)
        else:
            logger.warning("whatsapp: attachment that is not a link ignored")

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any],
                               **kwargs: Any) -> None:
        wa_id = self._wa_id(recipient_id)
        if wa_id is None:
            return
        if not isinstance(json_message, dict) or not json_message.get("type"):
            logger.warning("whatsapp: custom message without a \"type\" ignored")
            return
        if json_message["type"] != "template" and not await self._in_window(wa_id):
            logger.warning("whatsapp: custom message to %s not sent: outside the 24-hour window",
                           _masked(wa_id))
            return
        await self._send(wa_id, dict(json_message))

    # Internals.
    @staticmethod
    def _wa_id(recipient_id: Text) -> Optional[str]:
        sender = chat_identity.parse_sender(recipient_id)
        if sender.channel != CHANNEL:
            logger.error("whatsapp: %r is not a WhatsApp conversation; nothing sent", recipient_id[:40])
            return None
        return sender.external_id

    async def _in_window(self, wa_id: str) -> bool:
        """Whether the customer wrote in the last 24 hours (free-form messages allowed)."""
        try:
            last = await _in_thread(_with_session, self.database_url,
                                    lambda session: chat_identity.last_message_at(session, CHANNEL, wa_id))
        except Exception:  # noqa: BLE001 - unknown: try; Meta refuses it if the window is closed
            logger.exception("whatsapp: could not read when %s last wrote", _masked(wa_id))
            return True
        return last is not None and utcnow() - last < SERVICE_WINDOW

    async def _send_template(self, wa_id: str, text: str) -> None:
        name = self.settings.template_name
        if not name:
            logger.warning("whatsapp: message to %s not sent: the 24-hour window is closed and "
                           "WHATSAPP_TEMPLATE_NAME is not set", _masked(wa_id))
            if self.strict:  # an agent's reply: the console keeps it and tries again later
                raise DeliveryError(f"WhatsApp message to {_masked(wa_id)} held: the 24-hour window "
                                    "is closed and no template is configured")
            return
        await self._send(wa_id, {"type": "template", "template": {
            "name": name,
            "language": {"code": self.settings.template_language},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "text": shorten(text, TEMPLATE_PARAMETER_LIMIT)}]}],
        }})

    async def _send(self, wa_id: str, content: Dict[str, Any]) -> None:
        payload = {"recipient_type": "individual", **content, "messaging_product": "whatsapp",
                   "to": wa_id}
        if not await _in_thread(self._post, payload) and self.strict:
            raise DeliveryError(f"WhatsApp {payload.get('type')} message to {_masked(wa_id)} not delivered")

    def _post(self, payload: Dict[str, Any]) -> bool:
        """One message to the Graph API (in a worker thread), retried when worth it."""
        settings = self.settings
        if not (settings.access_token and settings.phone_number_id):
            logger.warning("whatsapp: not configured (WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID); "
                           "%s message not sent", payload.get("type"))
            return False
        url = f"{settings.graph_url}/{settings.phone_number_id}/messages"
        headers = {"Authorization": f"Bearer {settings.access_token}"}
        problem = ""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                answer = self.http.post(url, json=payload, headers=headers, timeout=settings.timeout)
            except (requests.Timeout, requests.ConnectionError) as error:
                problem = type(error).__name__
            else:
                if answer.status_code < 300:
                    return True
                problem = f"HTTP {answer.status_code}: {_graph_error(answer)}"
                if answer.status_code != 429 and answer.status_code < 500:
                    logger.error("whatsapp: %s message to %s refused: %s", payload.get("type"),
                                 _masked(str(payload.get("to"))), problem)
                    return False
            if attempt < ATTEMPTS:
                time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
        logger.error("whatsapp: %s message to %s not sent after %d attempts: %s", payload.get("type"),
                     _masked(str(payload.get("to"))), ATTEMPTS, problem)
        return False


def _graph_error(answer: requests.Response) -> str:
    try:
        error = answer.json().get("error") or {}
        return f"{error.get('code', '')} {error.get('message', '')}".strip()[:300]
    except ValueError:
        return answer.text[:300]
