"""Reading the development Maildir (var/mail): the one-time codes the portal "sent"."""

from __future__ import annotations

import mailbox
import re
from pathlib import Path

_CODE = re.compile(r"\b(\d{6})\b")


def _delivered(key: str) -> tuple[int, int]:
    """Maildir keys start "<seconds>.M<microseconds>P...": their delivery order."""
    seconds, rest = key.split(".", 1)
    micro = re.match(r"M(\d+)", rest)
    return int(seconds), int(micro.group(1)) if micro else 0


def latest_code(maildir: Path | str, to: str) -> str:
    """The 6-digit code of the newest message sent to ``to``."""
    box = mailbox.Maildir(str(maildir), create=False)
    keys = [k for k, message in box.items() if message["To"] == to]
    if not keys:
        raise LookupError(f"no message to {to} in {maildir}")
    return _CODE.search(box[max(keys, key=_delivered)].get_payload()).group(1)


def codes_sent(maildir: Path | str, to: str) -> list[str]:
    """Every code sent to ``to``, oldest first."""
    box = mailbox.Maildir(str(maildir), create=False) if Path(maildir).exists() else {}
    keys = sorted((k for k, message in box.items() if message["To"] == to), key=_delivered)
    return [_CODE.search(box[k].get_payload()).group(1) for k in keys]
