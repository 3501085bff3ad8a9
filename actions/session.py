"""Session start: fills the link slots the responses use."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from portal.settings import links


class ActionSessionStart(Action):
    """Rasa's session start, plus the configured links as slots.

    Responses in domain.yml write ``{link_chamado}`` and friends; the values
    come from ``portal.settings.links()`` so each URL is configured once.
    """

    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        events: List[EventType] = [SessionStarted()]
        events += [SlotSet(name, url) for name, url in links().items()]
        events.append(ActionExecuted("action_listen"))
        return events
