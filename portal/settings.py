"""Configuration read from the environment (``.env`` via python-dotenv).

Every variable here is listed, with a safe development default, in
``.env.example``. Nothing else in the project reads ``os.environ`` for these.
"""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Real environment variables win over the .env file.
load_dotenv(PROJECT_ROOT / ".env", override=False)

# The external pages the FAQ points to ("clique aqui" in the FAQ), by the slot
# name the assistant's responses use. Keys are stable; values come from the
# environment variable of the same name in upper case.
LINK_DEFAULTS: dict[str, str] = {
    # The post-sales page the FAQ names literally.
    "link_pos_venda": "https://scansource.com.br/pos-venda",
    # The My ScanSource platform itself (login page).
    "link_plataforma": "https://my.scansource.com.br",
    # Registration request ("Para solicitar seu cadastro, clique aqui").
    "link_cadastro": "https://my.scansource.com.br/solicitar-cadastro",
    # Support ticket form ("abrir um chamado ... clicando aqui").
    "link_chamado": "https://scansource.com.br/pos-venda/abrir-chamado",
    # Quote request form ("Formulário de Cotação").
    "link_cotacao": "https://scansource.com.br/formulario-de-cotacao",
    # Online store for direct purchases in the Sudeste region.
    "link_loja_virtual": "https://loja.scansource.com.br",
    # Help centre of the older Portal do Revendedor.
    "link_ajuda_portal_revendedor": "https://scansource.com.br/portal-do-revendedor/ajuda",
}


def links() -> dict[str, str]:
    """The configured link for each key of ``LINK_DEFAULTS``."""
    return {
        key: os.environ.get(key.upper(), "").strip() or default
        for key, default in LINK_DEFAULTS.items()
    }
