"""CPF + e-mailed code, on SQLite and PostgreSQL, with a real Maildir."""

from __future__ import annotations

import mailbox
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from devtools.maildir import codes_sent
from portal.auth import AuthService, CodeCheck, CodeRequest
from portal.db import session_scope
from portal.mail import Mailer
from portal.models import OneTimeCode, User
from portal.settings import settings

UNREGISTERED_CPF = "529.982.247-25"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 4, 14, 0, 0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def env(demo_db, tmp_path):
    url, _ = demo_db
    maildir = tmp_path / "mail"
    mailer = Mailer(replace(settings(), maildir=maildir, smtp_host=""))
    clock = Clock()
    with session_scope(url) as session:
        users = session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).all()
        inactive = session.scalar(select(User).where(User.active.is_(False)))
    yield url, mailer, clock, maildir, users, inactive
    with session_scope(url) as session:  # each test starts with no codes
        for code in session.scalars(select(OneTimeCode)):
            session.delete(code)


def service(session, mailer, clock):
    return AuthService(session, mailer, secret="test-secret", now=clock)


def mailed_codes(maildir, to):
    return codes_sent(maildir, to)


def test_code_is_mailed_and_accepted_once(env):
    url, mailer, clock, maildir, users, _ = env
    user = users[0]
    with session_scope(url) as s:
        assert service(s, mailer, clock).request_code(f"{user.cpf[:3]}.{user.cpf[3:6]}.{user.cpf[6:9]}-{user.cpf[9:]}").outcome is CodeRequest.SENT
    (code,) = mailed_codes(maildir, user.email)
    with session_scope(url) as s:
        stored = s.scalar(select(OneTimeCode.code_hash).where(OneTimeCode.cpf == user.cpf))
        assert code not in stored  # only a hash is kept
        result = service(s, mailer, clock).check_code(user.cpf, f" {code[:3]} {code[3:]} ")
        assert (result.outcome, result.user_id) == (CodeCheck.OK, user.id)
    with session_scope(url) as s:
        assert service(s, mailer, clock).check_code(user.cpf, code).outcome is CodeCheck.NO_CODE


def test_unknown_cpf_gets_the_same_answer_and_no_mail(env):
    url, mailer, clock, maildir, _, inactive = env
    with session_scope(url) as s:
        auth = service(s, mailer, clock)
        assert auth.request_code(UNREGISTERED_CPF).outcome is CodeRequest.SENT
        assert auth.request_code(inactive.cpf).outcome is CodeRequest.SENT
        assert auth.check_code(UNREGISTERED_CPF, "123456").outcome is CodeCheck.WRONG
    assert not maildir.exists() or len(mailbox.Maildir(str(maildir), create=False)) == 0


@pytest.mark.parametrize("cpf", ["529.982.247-24", "111.111.111-11", "123", "abc", ""])
def test_cpf_with_wrong_check_digits_is_rejected_without_storing_anything(env, cpf):
    url, mailer, clock, *_ = env
    with session_scope(url) as s:
        auth = service(s, mailer, clock)
        assert auth.request_code(cpf).outcome is CodeRequest.INVALID_CPF
        assert s.scalar(select(OneTimeCode).limit(1)) is None


def test_code_expires_after_ten_minutes(env):
    url, mailer, clock, maildir, users, _ = env
    user = users[1]
    with session_scope(url) as s:
        service(s, mailer, clock).request_code(user.cpf)
    (code,) = mailed_codes(maildir, user.email)
    clock.advance(minutes=10, seconds=1)
    with session_scope(url) as s:
        assert service(s, mailer, clock).check_code(user.cpf, code).outcome is CodeCheck.EXPIRED


def test_five_wrong_codes_lock_the_cpf_for_fifteen_minutes(env):
    url, mailer, clock, maildir, users, _ = env
    user = users[2]
    with session_scope(url) as s:
        service(s, mailer, clock).request_code(user.cpf)
    (code,) = mailed_codes(maildir, user.email)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    outcomes = []
    for _ in range(5):
        with session_scope(url) as s:
            outcomes.append(service(s, mailer, clock).check_code(user.cpf, wrong))
    assert [o.attempts_left for o in outcomes[:4]] == [4, 3, 2, 1]
    assert outcomes[4].outcome is CodeCheck.LOCKED
    with session_scope(url) as s:
        auth = service(s, mailer, clock)
        assert auth.check_code(user.cpf, code).outcome is CodeCheck.LOCKED  # even the right one
        assert auth.request_code(user.cpf).outcome is CodeRequest.LOCKED
    clock.advance(minutes=15, seconds=1)
    with session_scope(url) as s:
        assert service(s, mailer, clock).request_code(user.cpf).outcome is CodeRequest.SENT


def test_at_most_three_codes_per_fifteen_minutes(env):
    url, mailer, clock, maildir, users, _ = env
    user = users[3]
    for _ in range(3):
        with session_scope(url) as s:
            assert service(s, mailer, clock).request_code(user.cpf).outcome is CodeRequest.SENT
        clock.advance(minutes=1)
    with session_scope(url) as s:
        result = service(s, mailer, clock).request_code(user.cpf)
    assert result.outcome is CodeRequest.TOO_MANY and result.retry_after == timedelta(minutes=12)
    assert len(mailed_codes(maildir, user.email)) == 3
    clock.advance(minutes=12, seconds=1)
    with session_scope(url) as s:
        assert service(s, mailer, clock).request_code(user.cpf).outcome is CodeRequest.SENT


def test_only_the_latest_code_counts_and_another_cpfs_code_fails(env):
    url, mailer, clock, maildir, users, _ = env
    alice, bob = users[4], users[5]
    with session_scope(url) as s:
        auth = service(s, mailer, clock)
        auth.request_code(alice.cpf)
        auth.request_code(bob.cpf)
        clock.advance(seconds=30)
        auth.request_code(alice.cpf)
    first, latest = mailed_codes(maildir, alice.email)
    (bobs,) = mailed_codes(maildir, bob.email)
    with session_scope(url) as s:
        auth = service(s, mailer, clock)
        if bobs != latest:
            assert auth.check_code(alice.cpf, bobs).outcome is CodeCheck.WRONG
        if first != latest:
            assert auth.check_code(alice.cpf, first).outcome is CodeCheck.WRONG
        assert auth.check_code(alice.cpf, latest).outcome is CodeCheck.OK


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "", "12 34 5", "1" * 40])
def test_codes_that_are_not_six_digits_are_refused_without_counting(env, code):
    url, mailer, clock, maildir, users, _ = env
    user = users[6]
    with session_scope(url) as s:
        auth = service(s, mailer, clock)
        auth.request_code(user.cpf)
        assert auth.check_code(user.cpf, code).outcome is CodeCheck.BAD_FORMAT
        assert s.scalar(select(OneTimeCode.failed_attempts).where(OneTimeCode.cpf == user.cpf)) == 0


def test_wrong_codes_count_per_cpf_across_new_codes(env):
    url, mailer, clock, maildir, users, _ = env
    user = users[7]
    for _ in range(2):
        with session_scope(url) as s:
            service(s, mailer, clock).request_code(user.cpf)
        for _ in range(2):
            with session_scope(url) as s:
                service(s, mailer, clock).check_code(user.cpf, "000000")
        clock.advance(minutes=1)
    with session_scope(url) as s:
        auth = service(s, mailer, clock)
        auth.request_code(user.cpf)
        assert auth.check_code(user.cpf, "000001").outcome is CodeCheck.LOCKED  # the 5th wrong try


def test_a_used_or_replaced_code_never_works_again(env):
    url, mailer, clock, maildir, users, _ = env
    user = users[8]
    with session_scope(url) as s:
        auth = service(s, mailer, clock)
        auth.request_code(user.cpf)
        clock.advance(seconds=10)
        auth.request_code(user.cpf)
    first, second = mailed_codes(maildir, user.email)
    with session_scope(url) as s:
        auth = service(s, mailer, clock)
        assert auth.check_code(user.cpf, second).outcome is CodeCheck.OK
        assert auth.check_code(user.cpf, first).outcome is CodeCheck.NO_CODE
        assert auth.check_code(user.cpf, second).outcome is CodeCheck.NO_CODE


def test_a_mail_failure_gives_the_same_answer(env):
    url, _, clock, maildir, users, _ = env

    class BrokenMailer:
        def send(self, *args):
            raise OSError("smtp down")

    with session_scope(url) as s:
        assert service(s, BrokenMailer(), clock).request_code(users[9].cpf).outcome is CodeRequest.SENT
