"""Console accounts: agents and supervisors, their passwords and sessions.

- Passwords are hashed with Argon2id (argon2-cffi), never stored or logged.
- 5 wrong passwords lock the account for 15 minutes; the answer to a wrong
  e-mail and to a wrong password is the same, and costs the same time.
- A session is a random token in an HttpOnly cookie; only its SHA-256 is
  stored, with the CSRF token of that session. Sessions expire after 8 hours.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.models import Agent, AgentRole, AgentSession, utcnow

MAX_FAILURES = 5
LOCK = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=8)
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both cases take as long.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0000")


class LoginResult(str, Enum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True)
class Login:
    result: LoginResult
    agent_id: int | None = None
    token: str | None = None  # the cookie value; shown once
    retry_after: timedelta | None = None


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def create_agent(session: Session, email: str, name: str, role: AgentRole, password: str,
                 now: datetime | None = None) -> Agent:
    email = email.strip().lower()
    if session.scalar(select(Agent.id).where(Agent.email == email)) is not None:
        raise ValueError(f"an agent with e-mail {email} already exists")
    agent = Agent(email=email, name=name.strip(), role=role, password_hash=hash_password(password),
                  active=True, failed_logins=0, created_at=now or utcnow())
    session.add(agent)
    session.flush()
    return agent


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def log_in(session: Session, email: str, password: str, now: datetime | None = None) -> Login:
    now = now or utcnow()
    agent = session.scalar(select(Agent).where(Agent.email == (email or "").strip().lower(),
                                               Agent.active.is_(True)))
    if agent is None:
        try:
            _hasher.verify(_DUMMY_HASH, password or "")
        except VerificationError:
            pass
        return Login(LoginResult.WRONG)
    if agent.locked_until and agent.locked_until > now:
        return Login(LoginResult.LOCKED, retry_after=agent.locked_until - now)
    try:
        _hasher.verify(agent.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        agent.failed_logins += 1
        if agent.failed_logins >= MAX_FAILURES:
            agent.failed_logins = 0
            agent.locked_until = now + LOCK
            return Login(LoginResult.LOCKED, retry_after=LOCK)
        return Login(LoginResult.WRONG)
    agent.failed_logins = 0
    agent.locked_until = None
    if _hasher.check_needs_rehash(agent.password_hash):
        agent.password_hash = _hasher.hash(password)
    token = secrets.token_urlsafe(32)
    session.add(AgentSession(token_hash=_token_hash(token), agent_id=agent.id,
                             csrf_token=secrets.token_urlsafe(32), created_at=now,
                             expires_at=now + SESSION_TTL))
    session.execute(delete(AgentSession).where(AgentSession.expires_at < now))
    session.flush()
    return Login(LoginResult.OK, agent.id, token)


def session_for(session: Session, token: str | None, now: datetime | None = None) -> AgentSession | None:
    """The live session of this cookie value, with its agent; None if expired or unknown."""
    if not token or len(token) > 200:
        return None
    found = session.scalar(select(AgentSession).where(AgentSession.token_hash == _token_hash(token)))
    now = now or utcnow()
    if found is None or found.expires_at <= now or not found.agent.active:
        return None
    return found


def log_out(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(AgentSession).where(AgentSession.token_hash == _token_hash(token)))


def csrf_ok(agent_session: AgentSession, submitted: str | None) -> bool:
    return bool(submitted) and secrets.compare_digest(agent_session.csrf_token.encode(), submitted.encode())


def agent(session: Session, agent_id: int) -> Agent | None:
    return session.get(Agent, agent_id)


def active_agents(session: Session) -> list[Agent]:
    return list(session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.name)))


# Demo accounts (development only; `python -m portal demo-data` creates them).
DEMO_AGENTS = [
    ("agente@scansource.com.br", "Ana Atendente", AgentRole.AGENTE, "demo-agente-2026"),
    ("agente2@scansource.com.br", "Bruno Pós-venda", AgentRole.AGENTE, "demo-agente-2026"),
    ("supervisor@scansource.com.br", "Sofia Supervisora", AgentRole.SUPERVISOR, "demo-supervisor-2026"),
]


def create_demo_agents(session: Session) -> int:
    made = 0
    for email, name, role, password in DEMO_AGENTS:
        if session.scalar(select(Agent.id).where(Agent.email == email)) is None:
            create_agent(session, email, name, role, password)
            made += 1
    return made
