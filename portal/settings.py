"""Settings of the domain, from the environment (``.env`` via python-dotenv).

Every variable read here is listed in ``.env.example`` with a safe
development default. Nothing else in ``portal/`` reads ``os.environ``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Real environment variables win over the .env file.
load_dotenv(PROJECT_ROOT / ".env", override=False)


def _path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


@dataclass(frozen=True)
class Settings:
    database_url: str

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            database_url=os.environ.get("DATABASE_URL")
            or f"sqlite:///{_path('var/portal.db')}",
        )


def settings() -> Settings:
    return Settings.from_env()
