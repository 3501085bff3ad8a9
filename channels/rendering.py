"""Buttons for channels that cannot show them all: numbered options; and the
conversation as the Rasa server has it, which those channels read.

A bot message with more options than a channel can draw is sent as text with
numbered options; the customer answers with the number (or the option's
title) and the channel turns that back into the option's payload, reading the
options from the conversation's latest bot message, so nothing is kept in
memory and any replica can map the answer. Payloads are never shown.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, Iterable, List, Optional

Button = Dict[str, Any]

_NUMBER = re.compile(r"^\s*(?:op[cç][aã]o\s*)?(\d{1,2})\s*[.)]?\s*$", re.IGNORECASE)


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", (text or "").lower())
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).split())


def numbered(text: str, buttons: List[Button]) -> str:
    """The message with its options as "1. Título" lines and how to answer."""
    options = "\n".join(f"{i}. {b.get('title', '')}" for i, b in enumerate(buttons, start=1))
    return f"{text}\n\n{options}\n\nResponda com o número da opção."


def chosen_payload(reply: str, buttons: List[Button]) -> Optional[str]:
    """The payload the customer picked by number or by title; None otherwise."""
    if not buttons:
        return None
    match = _NUMBER.match(reply or "")
    if match:
        index = int(match.group(1))
        return buttons[index - 1].get("payload") if 1 <= index <= len(buttons) else None
    wanted = _plain(reply)
    for button in buttons:
        if wanted and wanted == _plain(button.get("title", "")):
            return button.get("payload")
    return None


def latest_buttons(events: Iterable[Any]) -> List[Button]:
    """The options the bot offered since the customer last wrote (the latest
    bot message that had any).

    ``events`` are Rasa events (objects with ``type_name``/``data``) or their
    dicts, oldest first.
    """
    for event in reversed(list(events)):
        kind = event.get("event") if isinstance(event, dict) else getattr(event, "type_name", None)
        if kind == "user":
            return []
        if kind == "bot":
            data = event.get("data") if isinstance(event, dict) else getattr(event, "data", None)
            if (data or {}).get("buttons"):
                return list(data["buttons"])
    return []


async def stored_tracker(app: Any, sender_id: str) -> Optional[Any]:
    """The conversation's tracker from the running Rasa server's tracker store
    (inside a channel's Sanic handler), or None."""
    agent = getattr(app.ctx, "agent", None)
    if agent is None or agent.tracker_store is None:
        return None
    return await agent.tracker_store.retrieve(sender_id)
