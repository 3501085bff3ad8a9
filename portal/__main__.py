"""Command line of the portal domain.

    python -m portal migrate        # create/upgrade the schema (Alembic)
    python -m portal demo-data      # migrate, then add the demo data if the database is empty
    python -m portal demo-users     # print the demo accounts as JSON
    python -m portal create-agent --email E --name N [--role supervisor]
                                    # a console account; the password is read from stdin
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys

from sqlalchemy import select

from portal import agents, demo
from portal.db import session_scope
from portal.migrate import upgrade
from portal.models import AgentRole, Order, Reseller, User


def demo_users(limit_orders: int = 3) -> list[dict]:
    accounts = []
    with session_scope() as session:
        users = session.scalars(
            select(User).join(Reseller).where(User.active.is_(True)).order_by(User.id)
        ).all()
        for user in users:
            numbers = session.scalars(
                select(Order.number)
                .where(Order.reseller_id == user.reseller_id)
                .order_by(Order.placed_on.desc(), Order.number)
                .limit(limit_orders)
            ).all()
            accounts.append(
                {
                    "cpf": user.cpf,
                    "name": user.name,
                    "email": user.email,
                    "whatsapp": user.whatsapp,
                    "role": user.role.value,
                    "cnpj": user.reseller.cnpj,
                    "razao_social": user.reseller.razao_social,
                    "orders": list(numbers),
                }
            )
    return accounts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database schema")
    demo_parser = sub.add_parser("demo-data", help="migrate and add the demo data when the database is empty")
    demo_parser.add_argument("--orders", type=int, default=demo.ORDERS,
                             help=f"how many orders (default {demo.ORDERS}; the bench uses 200000)")
    sub.add_parser("demo-users", help="print the demo accounts as a JSON list")
    agent_parser = sub.add_parser("create-agent", help="create a console account (password from stdin)")
    agent_parser.add_argument("--email", required=True)
    agent_parser.add_argument("--name", required=True)
    agent_parser.add_argument("--role", choices=[r.value for r in AgentRole], default=AgentRole.AGENTE.value)
    args = parser.parse_args(argv)

    if args.command == "migrate":
        upgrade()
    elif args.command == "demo-data":
        upgrade()
        with session_scope() as session:
            if demo.is_empty(session):
                summary = demo.create_demo_data(session, orders=args.orders)
                print(f"demo data created: {summary}", file=sys.stderr)
            else:
                print("database already has data; demo data not added", file=sys.stderr)
            if os.environ.get("APP_ENV", "development") != "production":
                made = agents.create_demo_agents(session)
                if made:
                    print(f"demo console agents created: {made} (see the README)", file=sys.stderr)
    elif args.command == "create-agent":
        password = (getpass.getpass("Senha: ") if sys.stdin.isatty() else sys.stdin.readline()).rstrip("\n")
        try:
            with session_scope() as session:
                agent = agents.create_agent(session, args.email, args.name, AgentRole(args.role), password)
                print(f"agent created: {agent.email} ({agent.role.value})", file=sys.stderr)
        except ValueError as error:
            print(f"could not create the agent: {error}", file=sys.stderr)
            return 1
    elif args.command == "demo-users":
        json.dump(demo_users(), sys.stdout, ensure_ascii=False, indent=2)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
