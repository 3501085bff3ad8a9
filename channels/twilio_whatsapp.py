"""WhatsApp through Twilio: Rasa's Twilio channel, hardened for an open webhook.

Registered in ``credentials.yml`` as ``channels.twilio_whatsapp.TwilioWhatsAppInput``;
Twilio posts form-encoded messages to ``/webhooks/twilio_whatsapp/webhook``.

Incoming (Twilio -> us):
- The ``X-Twilio-Signature`` is checked with Twilio's ``RequestValidator``
  over the address Twilio signed: ``TWILIO_PUBLIC_URL`` + the request path
  (+ query string), not the address the request reached behind a proxy.
  Missing or wrong -> 403 and nothing is processed; a body over 64 KB -> 413;
  a signed request without a ``whatsapp:+<E.164>`` ``From`` or a
  ``MessageSid`` -> 400. Client input never causes a 5xx.
- Twilio gets an empty TwiML answer at once; the message is processed in a
  background task and the replies go out through Twilio's REST API, so slow
  NLU never makes Twilio time out (and retry).
- A ``MessageSid`` is processed once (``chat_identity.first_delivery``):
  Twilio's retries are answered but not processed again.
- The conversation id is ``tw:<+E.164>`` (``From`` without ``whatsapp:``),
  ``input_channel`` is "twilio_whatsapp", and nothing else from the request
  (no metadata) reaches Rasa: identity comes from the linked number only.
- Media without text gets a short pt-BR note instead of going to Rasa.
- Options are sent as numbered text (``channels.rendering``); an answer "2"
  or an option's title becomes that option's payload, read from the
  conversation's latest bot message, so any replica can map it.

Outgoing (us -> Twilio): ``POST {TWILIO_API_URL}/2010-04-01/Accounts/{sid}/Messages.json``
with basic auth, ``requests`` in a thread, 10 s timeout, up to 3 attempts on
timeouts, connection errors, 429 and 5xx; bodies over 1,600 characters are
split. ``get_output_channel()`` is what Rasa's HTTP API uses for agents'
replies (``output_channel=latest``): there a failed delivery raises, so the
API call fails and the console's outbox tries again.
"""

from __future__ import annotations

import asyncio
import logging
import re
from functools import partial
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text
from urllib.parse import parse_qs

import requests
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.twilio import TwilioInput, TwilioOutput
from sanic import Blueprint, response
from sanic.request import Request, RequestParameters
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from channels import rendering
from channels.config import TwilioSettings, twilio_settings
from portal import chat_identity
from portal.db import session_scope

logger = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 64 * 1024
MAX_BODY_CHARS = 1600  # Twilio's limit for one message body
SEND_TIMEOUT = 10.0
SEND_ATTEMPTS = 3
MEDIA_ONLY_TEXT = "Por enquanto eu só consigo ler mensagens de texto. 🙂 Pode escrever sua dúvida?"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_WHATSAPP_PREFIX = "whatsapp:"


class DeliveryError(Exception):
    """Twilio did not accept a message (after the retries)."""


def whatsapp_number(value: Optional[str]) -> Optional[str]:
    """"+5511..." from "whatsapp:+5511..."; None for anything else."""
    if not value or not value.startswith(_WHATSAPP_PREFIX):
        return None
    number = value[len(_WHATSAPP_PREFIX):]
    return number if _E164.match(number) else None


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fitting(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def split_body(text: str, limit: int = MAX_BODY_CHARS) -> List[str]:
    """``text`` in parts of at most ``limit`` characters (counted as Twilio
    does, in UTF-16 units), cut at a paragraph, a line or a space when it can."""
    rest = (text or "").strip()
    parts: List[str] = []
    while _utf16_units(rest) > limit:
        cut = _fitting(rest, limit)
        window = rest[:cut + 1]  # a separator right after the limit also works
        for separator in ("\n\n", "\n", " "):
            at = window.rfind(separator)
            if at > limit // 4:
                cut = at
                break
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


class TwilioWhatsAppOutput(TwilioOutput):
    """Sends to ``tw:<+E.164>`` conversations through Twilio's Messages API.

    Rasa's ``TwilioOutput`` is also a twilio ``Client``; this channel sends
    with ``requests`` to ``TWILIO_API_URL`` instead, so the ``Client`` part is
    deliberately not initialised (it would read more variables from the
    environment) and every send method is overridden.
    """

    @classmethod
    def name(cls) -> Text:
        return "twilio_whatsapp"

    def __init__(self, settings: TwilioSettings, raise_on_failure: bool = False) -> None:  # noqa: D107
        # pylint: disable=super-init-not-called
        self.settings = settings
        self.twilio_number = settings.whatsapp_number
        self.raise_on_failure = raise_on_failure

    # --- Rasa's send methods ---------------------------------------------------

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for part in split_body(text):
            await self._send(recipient_id, {"Body": part})

    async def send_text_with_buttons(self, recipient_id: Text, text: Text,
                                     buttons: List[Dict[Text, Any]], **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, rendering.numbered(text, buttons))

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self._send(recipient_id, {"MediaUrl": image})

    async def send_attachment(self, recipient_id: Text, attachment: Text, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, attachment)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any],
                               **kwargs: Any) -> None:
        # A custom payload is meant for another channel (the widget): showing
        # its JSON to a customer on WhatsApp would help nobody.
        logger.warning("twilio_whatsapp: custom message not sent to %s (keys: %s)",
                       recipient_id, sorted(json_message)[:10])

    # --- Delivery --------------------------------------------------------------

    async def _send(self, recipient_id: Text, fields: Dict[Text, Any]) -> None:
        parsed = chat_identity.parse_sender(recipient_id)
        number = parsed.external_id if parsed.channel == chat_identity.TWILIO else None
        if not number or not _E164.match(number):
            self._failed(f"not a Twilio WhatsApp conversation: {recipient_id!r}")
            return
        await self._post({"To": _WHATSAPP_PREFIX + number, **fields})

    def _failed(self, reason: str) -> None:
        logger.error("twilio_whatsapp: message not delivered: %s", reason)
        if self.raise_on_failure:
            raise DeliveryError(reason)

    async def _post(self, fields: Dict[Text, Any]) -> None:
        settings = self.settings
        if not settings.configured:
            self._failed("TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN are not set")
            return
        url = f"{settings.api_url}/2010-04-01/Accounts/{settings.account_sid}/Messages.json"
        form = {"From": settings.whatsapp_number, **fields}
        post = partial(requests.post, url, data=form, auth=(settings.account_sid, settings.auth_token),
                       timeout=SEND_TIMEOUT)
        loop = asyncio.get_running_loop()
        problem = ""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            wait = 0.5 * 2 ** (attempt - 1)
            try:
                answer = await loop.run_in_executor(None, post)
            except (requests.Timeout, requests.ConnectionError) as error:
                problem = f"{type(error).__name__}: {error}"
            except requests.RequestException as error:
                self._failed(f"{type(error).__name__}: {error}")
                return
            else:
                if 200 <= answer.status_code < 300:
                    return
                problem = f"Twilio answered {answer.status_code}: {answer.text[:300]}"
                if answer.status_code != 429 and answer.status_code < 500:
                    self._failed(problem)  # our request is wrong: retrying cannot help
                    return
                retry_after = answer.headers.get("Retry-After", "")
                if retry_after.isdigit():
                    wait = min(float(retry_after), 5.0)
            if attempt < SEND_ATTEMPTS:
                logger.warning("twilio_whatsapp: attempt %s failed (%s); retrying in %.1fs",
                               attempt, problem, wait)
                await asyncio.sleep(wait)
        self._failed(f"{SEND_ATTEMPTS} attempts failed, the last: {problem}")


class TwilioWhatsAppInput(TwilioInput):
    """The webhook Twilio calls for each WhatsApp message to our number."""

    @classmethod
    def name(cls) -> Text:
        return "twilio_whatsapp"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        # Settings come from the environment (channels/config.py), not from
        # credentials.yml, so secrets stay out of files under version control.
        return cls(twilio_settings())

    def __init__(self, settings: TwilioSettings) -> None:  # noqa: D107
        super().__init__(settings.account_sid, settings.auth_token, settings.whatsapp_number,
                         debug_mode=False)
        self.settings = settings
        self.validator = RequestValidator(settings.auth_token) if settings.auth_token else None
        self._tasks: Set[asyncio.Task] = set()
        self._queues: Dict[str, asyncio.Lock] = {}
        self._waiting: Dict[str, int] = {}
        if not settings.configured:
            logger.warning("twilio_whatsapp: TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN are not set: "
                           "every webhook is refused and nothing is sent")

    def get_output_channel(self) -> OutputChannel:
        # Used by Rasa's HTTP API (agents' replies): a failure must fail the call.
        return TwilioWhatsAppOutput(self.settings, raise_on_failure=True)

    # --- Checks ------------------------------------------------------------------

    def _signed_url(self, request: Request) -> str:
        base = self.settings.public_url or f"{request.scheme}://{request.host}"
        url = base + request.path
        return f"{url}?{request.query_string}" if request.query_string else url

    def _authentic(self, request: Request, params: RequestParameters) -> bool:
        signature = request.headers.get("X-Twilio-Signature", "")
        if self.validator is None or not signature:
            return False
        return self.validator.validate(self._signed_url(request), params, signature)

    @staticmethod
    def _form(body: bytes) -> Optional[RequestParameters]:
        try:
            # Blank values count: Twilio signs every parameter it sends.
            return RequestParameters(parse_qs(body.decode("utf-8"), keep_blank_values=True,
                                              max_num_fields=1000))
        except (UnicodeDecodeError, ValueError):
            return None

    @staticmethod
    def _first_delivery(message_sid: str, number: str) -> bool:
        try:
            with session_scope() as session:
                return chat_identity.first_delivery(session, chat_identity.TWILIO, message_sid, number)
        except Exception:  # noqa: BLE001 - better answer twice than lose the message
            logger.exception("twilio_whatsapp: could not record message %s; processing it anyway",
                             message_sid)
            return True

    # --- Processing --------------------------------------------------------------

    def _in_background(self, job: Awaitable[None]) -> None:
        task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)  # a reference, so the task is not collected mid-way
        task.add_done_callback(self._tasks.discard)

    async def _process(self, app: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                       sender_id: str, text: str, message_sid: str, media_only: bool) -> None:
        # One message at a time per conversation, in the order they arrived
        # (asyncio.Lock wakes waiters first come, first served).
        lock = self._queues.setdefault(sender_id, asyncio.Lock())
        self._waiting[sender_id] = self._waiting.get(sender_id, 0) + 1
        output = TwilioWhatsAppOutput(self.settings)
        try:
            async with lock:
                tracker = await rendering.stored_tracker(app, sender_id)
                if media_only:
                    if tracker is None or not tracker.is_paused():  # silent while an agent has it
                        await output.send_text_message(sender_id, MEDIA_ONLY_TEXT)
                    return
                text = await self._chosen_option(tracker, text) or text
                await on_new_message(UserMessage(text, output, sender_id, input_channel=self.name(),
                                                 message_id=message_sid))
        except Exception:  # noqa: BLE001 - a background task: log, never crash the server
            logger.exception("twilio_whatsapp: message %s of %s failed", message_sid, sender_id)
        finally:
            self._waiting[sender_id] -= 1
            if not self._waiting[sender_id]:
                del self._waiting[sender_id]
                self._queues.pop(sender_id, None)

    @staticmethod
    async def _chosen_option(tracker: Any, text: str) -> Optional[str]:
        """The payload of the option the customer answered with ("2" or its title)."""
        if tracker is None:
            return None
        return rendering.chosen_payload(text, rendering.latest_buttons(tracker.events))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("twilio_whatsapp_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def message(request: Request) -> HTTPResponse:
            body = request.body or b""
            if len(body) > MAX_WEBHOOK_BYTES:
                return response.text("payload too large", status=413)
            if not request.headers.get("X-Twilio-Signature"):
                return response.text("missing signature", status=403)
            params = self._form(body)
            if params is None:
                return response.text("not a form", status=400)
            if not self._authentic(request, params):
                logger.warning("twilio_whatsapp: refused a request with a wrong signature")
                return response.text("invalid signature", status=403)

            number = whatsapp_number(params.get("From"))
            message_sid = params.get("MessageSid") or ""
            if number is None or not message_sid:
                return response.text("expected From=whatsapp:+<number> and MessageSid", status=400)
            text = params.get("Body") or ""
            try:
                num_media = int(params.get("NumMedia") or 0)
            except ValueError:
                num_media = 0

            loop = asyncio.get_running_loop()
            if await loop.run_in_executor(None, self._first_delivery, message_sid, number):
                sender_id = chat_identity.sender_id(chat_identity.TWILIO, number)
                media_only = not text.strip() and (num_media > 0 or bool(params.get("Latitude")))
                self._in_background(self._process(request.app, on_new_message, sender_id, text,
                                                  message_sid, media_only))
            else:
                logger.info("twilio_whatsapp: message %s already received; not processed again",
                            message_sid)
            return response.text(EMPTY_TWIML, content_type="text/xml")

        return webhook
