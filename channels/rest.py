"""Rasa's REST channel, with the checks an open webhook needs.

- ``sender`` is required and must look like a random conversation id: over
  REST it is the conversation's only handle, and an identification belongs to
  the conversation, so Rasa's fallback of one shared "default" conversation for
  every client without a sender is refused.
- ``input_channel`` always reads "rest": a client must not claim to be
  WhatsApp or the web widget.
- ``message`` must be text (an empty one is fine: the assistant answers it).
"""

from __future__ import annotations

import re
from typing import Optional, Text

from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic.exceptions import InvalidUsage
from sanic.request import Request

_SENDER = re.compile(r"^[A-Za-z0-9_.:\-]{8,128}$")


class RestInput(RasaRestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        body = req.json if isinstance(req.json, dict) else {}
        sender = body.get("sender")
        if not isinstance(sender, str) or not _SENDER.match(sender):
            raise InvalidUsage(
                "'sender' is required: 8 to 128 letters, digits or _.:- "
                "(use a random id per conversation)"
            )
        message = body.get("message", "")
        if message is not None and not isinstance(message, str):
            raise InvalidUsage("'message' must be text")
        return sender

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()
