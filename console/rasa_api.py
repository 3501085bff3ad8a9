"""The two calls of Rasa's HTTP API the console makes.

    GET  /conversations/{id}/tracker?include_events=ALL          read a conversation
    POST /conversations/{id}/tracker/events?execute_side_effects=true&output_channel=latest
                                                                  append events; a "bot"
                                                                  event reaches the customer
"""

from __future__ import annotations

from urllib.parse import quote

import requests


class RasaError(Exception):
    """Rasa did not answer, or answered with an error. ``status`` is None when
    there was no answer at all (down, timeout)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


# Appending with execute_side_effects makes Rasa send through the customer's
# channel, which retries its API for up to about 35 s: the console waits
# longer than that (and less than the outbox lease), or a retry would append
# a reply Rasa is still sending.
APPEND_TIMEOUT = 45


class RasaClient:
    def __init__(self, base_url: str, token: str, timeout: float = 5) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _request(self, method: str, sender_id: str, suffix: str, params: dict, body=None,
                 timeout: float | None = None) -> dict:
        # Rasa does not decode the path: "wa:5511..." must stay as it is, or
        # it would name another (new, empty) conversation.
        url = f"{self.base_url}/conversations/{quote(sender_id, safe=':+')}/tracker{suffix}"
        try:
            response = requests.request(method, url, params={"token": self.token, **params},
                                        json=body, timeout=timeout or self.timeout)
        except requests.RequestException as error:
            raise RasaError(f"no answer from Rasa: {error}") from error
        if response.status_code >= 400:
            raise RasaError(f"Rasa answered {response.status_code}: {response.text[:200]}",
                            response.status_code)
        try:
            return response.json()
        except ValueError as error:
            raise RasaError(f"Rasa answered something that is not JSON: {error}") from error

    def tracker_events(self, sender_id: str) -> list[dict]:
        return self._request("GET", sender_id, "", {"include_events": "ALL"}).get("events") or []

    def append(self, sender_id: str, events: list[dict]) -> None:
        self._request("POST", sender_id, "/events",
                      {"execute_side_effects": "true", "output_channel": "latest"}, events,
                      timeout=APPEND_TIMEOUT)
