"""Identifying a chat user: CPF, then a 6-digit code e-mailed to them.

Rules (issue "Authenticated lookups"):
- the answer to a CPF is the same whether or not it is registered: a code row
  is stored either way (a decoy nobody can match when the CPF is unknown), and
  only a registered, active user gets an e-mail;
- codes are stored as an HMAC, expire in 10 minutes and are single-use;
- 5 wrong codes lock the CPF for 15 minutes;
- at most 3 codes per CPF per 15 minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import ids
from portal.mail import Mailer
from portal.models import OneTimeCode, User, utcnow

logger = logging.getLogger(__name__)

CODE_TTL = timedelta(minutes=10)
WINDOW = timedelta(minutes=15)
MAX_CODES_PER_WINDOW = 3
MAX_FAILURES = 5
LOCK = timedelta(minutes=15)


class CodeRequest(str, Enum):
    INVALID_CPF = "invalid_cpf"  # wrong length or check digits
    SENT = "sent"  # "if the CPF is registered, a code was e-mailed"
    TOO_MANY = "too_many"  # 3 codes in 15 minutes already
    LOCKED = "locked"  # 5 wrong codes: wait


class CodeCheck(str, Enum):
    OK = "ok"
    BAD_FORMAT = "bad_format"  # not 6 digits
    WRONG = "wrong"
    EXPIRED = "expired"
    NO_CODE = "no_code"
    LOCKED = "locked"


@dataclass(frozen=True)
class CodeRequestResult:
    outcome: CodeRequest
    retry_after: timedelta | None = None


@dataclass(frozen=True)
class CodeCheckResult:
    outcome: CodeCheck
    user_id: int | None = None
    attempts_left: int | None = None
    retry_after: timedelta | None = None


class AuthService:
    def __init__(self, session: Session, mailer: Mailer, secret: str,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.session = session
        self.mailer = mailer
        self.secret = secret.encode()
        self.now = now

    def _hash(self, cpf: str, code: str) -> str:
        return hmac.new(self.secret, f"{cpf}:{code}".encode(), hashlib.sha256).hexdigest()

    def _recent(self, cpf: str, now: datetime) -> list[OneTimeCode]:
        return self.session.scalars(
            select(OneTimeCode).where(
                OneTimeCode.cpf == cpf, OneTimeCode.created_at > now - WINDOW - CODE_TTL
            )
        ).all()

    def _locked_until(self, cpf: str, now: datetime) -> datetime | None:
        until = max((c.locked_until for c in self._recent(cpf, now) if c.locked_until), default=None)
        return until if until and until > now else None

    def _retire_codes(self, cpf: str, now: datetime) -> None:
        """No earlier code works once a new one is issued or one was used."""
        for code in self.session.scalars(
            select(OneTimeCode).where(OneTimeCode.cpf == cpf, OneTimeCode.used_at.is_(None))
        ):
            code.used_at = now

    def request_code(self, cpf_text: str) -> CodeRequestResult:
        cpf = ids.digits(cpf_text)
        if not ids.is_valid_cpf(cpf):
            return CodeRequestResult(CodeRequest.INVALID_CPF)
        now = self.now()
        locked = self._locked_until(cpf, now)
        if locked:
            return CodeRequestResult(CodeRequest.LOCKED, locked - now)
        issued = self.session.scalars(
            select(OneTimeCode.created_at)
            .where(OneTimeCode.cpf == cpf, OneTimeCode.created_at > now - WINDOW)
            .order_by(OneTimeCode.created_at)
        ).all()
        if len(issued) >= MAX_CODES_PER_WINDOW:
            return CodeRequestResult(CodeRequest.TOO_MANY, issued[0] + WINDOW - now)

        self._retire_codes(cpf, now)
        code = f"{secrets.randbelow(10**6):06d}"
        user = self.session.scalar(select(User).where(User.cpf == cpf, User.active.is_(True)))
        stored = code if user else secrets.token_hex(16)  # unknown CPF: an unmatchable decoy
        self.session.add(OneTimeCode(cpf=cpf, code_hash=self._hash(cpf, stored), created_at=now,
                                     expires_at=now + CODE_TTL, failed_attempts=0))
        self.session.flush()
        if user:
            self._mail_code(user, code)
        return CodeRequestResult(CodeRequest.SENT)

    def _mail_code(self, user: User, code: str) -> None:
        # A failed delivery must not change the answer (it would reveal that the
        # CPF is registered); it is logged for the team instead.
        try:
            self.mailer.send(
                user.email,
                "Seu código de acesso ao assistente My ScanSource",
                f"Olá, {user.name.split()[0]}!\n\n"
                f"Seu código para continuar no atendimento é: {code}\n\n"
                "Ele vale por 10 minutos. Não compartilhe este código com ninguém.\n"
                "Se você não pediu este código, ignore este e-mail.\n\n"
                "Equipe My ScanSource",
            )
        except Exception:  # noqa: BLE001 - any transport error
            logger.exception("could not e-mail a one-time code to user %s", user.id)

    def check_code(self, cpf_text: str, code_text: str) -> CodeCheckResult:
        cpf = ids.digits(cpf_text)
        code = ids.digits(code_text)
        if len(code) != 6 or len(code_text.strip()) > 20:
            return CodeCheckResult(CodeCheck.BAD_FORMAT)
        now = self.now()
        locked = self._locked_until(cpf, now)
        if locked:
            return CodeCheckResult(CodeCheck.LOCKED, retry_after=locked - now)
        latest = self.session.scalar(
            select(OneTimeCode)
            .where(OneTimeCode.cpf == cpf, OneTimeCode.used_at.is_(None))
            .order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc())
            .limit(1)
        )
        if latest is None:
            return CodeCheckResult(CodeCheck.NO_CODE)
        if latest.expires_at <= now:
            return CodeCheckResult(CodeCheck.EXPIRED)
        if not hmac.compare_digest(latest.code_hash, self._hash(cpf, code)):
            latest.failed_attempts += 1
            self.session.flush()
            failures = sum(c.failed_attempts for c in self._recent(cpf, now))
            if failures >= MAX_FAILURES:  # counted per CPF, across its recent codes
                latest.locked_until = now + LOCK
                return CodeCheckResult(CodeCheck.LOCKED, retry_after=LOCK)
            return CodeCheckResult(CodeCheck.WRONG, attempts_left=MAX_FAILURES - failures)
        self._retire_codes(cpf, now)
        user_id = self.session.scalar(
            select(User.id).where(User.cpf == cpf, User.active.is_(True))
        )
        if user_id is None:  # deactivated since the code was sent
            return CodeCheckResult(CodeCheck.WRONG, attempts_left=0)
        return CodeCheckResult(CodeCheck.OK, user_id=user_id)

    def codes_issued(self, cpf_text: str) -> int:
        """How many codes this CPF has been given (for tests and support)."""
        return self.session.scalar(
            select(func.count()).select_from(OneTimeCode).where(OneTimeCode.cpf == ids.digits(cpf_text))
        )
