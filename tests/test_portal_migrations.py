from alembic import command
from sqlalchemy import inspect

from portal.db import make_engine
from portal.migrate import alembic_config, downgrade, upgrade


def test_models_and_migrations_agree(tmp_path):
    url = f"sqlite:///{tmp_path / 'check.db'}"
    upgrade(url)
    command.check(alembic_config(url))  # raises if the models need a new migration


def test_migrations_go_down_and_up_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade(url)
    downgrade(url)
    assert inspect(make_engine(url)).get_table_names() == ["alembic_version"]
    upgrade(url)
    assert "orders" in inspect(make_engine(url)).get_table_names()
