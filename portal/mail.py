"""Outgoing e-mail: SMTP when SMTP_HOST is set, otherwise a local Maildir.

The Maildir (``var/mail`` by default) is what development and the tests read:
``mailbox.Maildir(path)`` lists every message the portal "sent".
"""

from __future__ import annotations

import mailbox
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from portal.settings import Settings


@dataclass(frozen=True)
class Mailer:
    settings: Settings

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="myscansource.local")
        message.set_content(body)
        if self.settings.smtp_host:
            self._send_smtp(message)
        else:
            self._store(message)

    def _send_smtp(self, message: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=10) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
            smtp.send_message(message)

    def _store(self, message: EmailMessage) -> None:
        path = Path(self.settings.maildir)
        path.parent.mkdir(parents=True, exist_ok=True)  # Maildir creates tmp/new/cur itself
        mailbox.Maildir(str(path), create=True).add(message)
