"""Session start: applies the configured links to the link slots."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher


def link_overrides(domain: Dict[Text, Any]) -> Dict[Text, Text]:
    """``LINK_*`` environment values for the domain's ``link_*`` slots.

    The default of each link is the slot's ``initial_value`` in domain.yml,
    so answers keep a working link even if this action cannot run.
    """
    overrides = {}
    for name in domain.get("slots", {}):
        if name.startswith("link_"):
            value = os.environ.get(name.upper(), "").strip()
            if value.startswith(("https://", "http://")):
                overrides[name] = value
    return overrides


class ActionSessionStart(Action):
    """Rasa's session start, plus the links configured for this deployment."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        events: List[EventType] = [SessionStarted()]
        events += [SlotSet(name, url) for name, url in link_overrides(domain).items()]
        events.append(ActionExecuted("action_listen"))
        return events
