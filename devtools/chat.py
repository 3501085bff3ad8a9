"""A `rasa shell`-style chat with the running server, over the REST channel.

    .venv/bin/python -m devtools.chat [--url http://127.0.0.1:5005] [--sender eu]

Buttons are shown as numbered options; typing the number sends the button.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid

import requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('RASA_PORT', '5005')}")
    parser.add_argument("--sender", default=f"shell-{uuid.uuid4().hex[:8]}")
    args = parser.parse_args()
    endpoint = f"{args.url}/webhooks/rest/webhook"
    buttons: list[dict] = []
    print("Converse com o assistente (Ctrl-D para sair).")
    while True:
        try:
            text = input("você> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if text.isdigit() and 1 <= int(text) <= len(buttons):
            text = buttons[int(text) - 1]["payload"]
        try:
            reply = requests.post(endpoint, json={"sender": args.sender, "message": text}, timeout=30)
            reply.raise_for_status()
        except requests.RequestException as error:
            print(f"(sem resposta do servidor: {error})", file=sys.stderr)
            continue
        buttons = []
        for message in reply.json():
            if "text" in message:
                print("bot> " + message["text"].replace("\n", "\n     "))
            for button in message.get("buttons", []):
                buttons.append(button)
                print(f"     {len(buttons)}. {button['title']}")


if __name__ == "__main__":
    sys.exit(main())
