"""Lookup-turn latency over REST: an identified user asks for orders, NF-e,
boletos and payments, sequentially, on SQLite demo data and on PostgreSQL
with 200,000 orders.

    python bench/lookups.py [--turns 200] [--pg-orders 200000] [--skip-postgres]

Each database gets its own servers (Rasa, actions, web app on free ports).
The PostgreSQL data set is generated once into the database
``bench_lookups_<orders>`` and kept for later runs; --rebuild recreates it.
Target: p95 <= 100 ms on both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.maildir import latest_code  # noqa: E402
from devtools.stack import Stack, free_port  # noqa: E402
from portal import demo  # noqa: E402
from portal.db import session_scope  # noqa: E402
from portal.migrate import upgrade  # noqa: E402
from portal.models import Invoice, Order, Role, User  # noqa: E402

PER_CONVERSATION = 20
PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def prepare_sqlite(workdir: Path) -> str:
    url = f"sqlite:///{workdir / 'portal.db'}"
    upgrade(url)
    with session_scope(url) as session:
        demo.create_demo_data(session)
    return url


def prepare_postgres(orders: int, rebuild: bool) -> str:
    admin_url = make_url(PG_ADMIN)
    name = f"bench_lookups_{orders}"
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if exists and rebuild:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = None
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    upgrade(url)
    with session_scope(url) as session:
        if session.scalar(select(func.count()).select_from(Order)) != orders:
            if not demo.is_empty(session):
                raise SystemExit(f"{name} holds another data set: run with --rebuild")
            started = time.perf_counter()
            print(f"generating {orders} orders in {name} (once)...", flush=True)
            demo.create_demo_data(session, orders=orders)
            print(f"generated in {time.perf_counter() - started:.0f} s", flush=True)
    with create_engine(url, future=True).connect() as connection:
        # Codes from earlier runs would hit the 3-codes-per-15-minutes limit.
        connection.execute(text("DELETE FROM one_time_codes"))
        connection.execute(text("ANALYZE"))
        connection.commit()
    return url


def _questions(orders: list[str], invoices: list[str], count: int) -> list[str]:
    questions = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            questions.append(f"qual o status do pedido {orders[i % len(orders)]}?")
        elif kind == 1:
            questions.append(f"2a via da nota {invoices[i % len(invoices)].lstrip('0')}")
        elif kind == 2:
            questions.append(f"boleto da nf {invoices[(i * 7) % len(invoices)].lstrip('0')}")
        else:
            questions.append("como estão meus pagamentos?")
    return questions


def run_turns(database_url: str, turns: int, label: str) -> None:
    conversations = max(1, turns // PER_CONVERSATION)
    with session_scope(database_url) as s:
        count = s.scalar(select(func.count()).select_from(Order))
        users = s.scalars(select(User).where(User.role == Role.GERENCIADOR, User.active.is_(True))
                          .order_by(User.id).limit(conversations)).all()
        plans = []
        for user in users:
            orders = s.scalars(select(Order.number).where(Order.reseller_id == user.reseller_id)
                               .order_by(Order.id).limit(50)).all()
            invoices = s.scalars(select(Invoice.number).where(Invoice.reseller_id == user.reseller_id)
                                 .order_by(Invoice.id).limit(50)).all()
            plans.append((user.cpf, user.email, _questions(orders, invoices, PER_CONVERSATION)))
    samples: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        maildir = Path(tmp) / "mail"
        stack = Stack(
            rasa_port=free_port(), action_port=free_port(), console_port=free_port(),
            tracker_db=Path(tmp) / "tracker.db", log_dir=Path(tmp) / "log",
            extra_env={"DATABASE_URL": database_url, "MAILDIR_PATH": str(maildir), "SMTP_HOST": ""},
        )
        with stack:
            http = requests.Session()
            url = f"{stack.rasa_url}/webhooks/rest/webhook"
            for n, (cpf, email, questions) in enumerate(plans):
                # One identified conversation of 20 lookups per user, like the FAQ
                # bench: Rasa sends the whole tracker to the action server, so a
                # turn costs more the longer the conversation is.
                sender = f"bench-{uuid.uuid4().hex[:8]}"
                stack.say(sender, questions[0])
                stack.say(sender, cpf)
                answer = " ".join(r.get("text", "") for r in stack.say(sender, latest_code(maildir, email)))
                if "Identidade confirmada" not in answer:
                    raise RuntimeError(f"identification failed: {answer[:200]}")
                for i, question in enumerate(questions):
                    started = time.perf_counter()
                    reply = http.post(url, json={"sender": sender, "message": question}, timeout=30)
                    elapsed = (time.perf_counter() - started) * 1000
                    reply.raise_for_status()
                    if not reply.json() or "Qual é o seu CPF" in reply.text:
                        raise RuntimeError(f"unexpected answer to {question!r}: {reply.text[:200]}")
                    if n > 0 or i >= 5:  # the first turns warm up the servers
                        samples.append(elapsed)
    print(f"{label} ({count} orders): lookup turn p50 / p95 = "
          f"{statistics.median(samples):.1f} / {percentile(samples, 95):.1f} ms over {len(samples)} turns "
          f"(target p95 <= 100 ms)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--pg-orders", type=int, default=200_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the PostgreSQL data set")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_turns(prepare_sqlite(Path(tmp)), args.turns, "SQLite, demo data")
    if not args.skip_postgres:
        run_turns(prepare_postgres(args.pg_orders, args.rebuild), args.turns, "PostgreSQL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
