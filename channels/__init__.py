"""Rasa input channels of the assistant.

Imported by the Rasa server when it loads credentials.yml: with
APP_ENV=production it refuses to start on a development secret (the socket
channel verifies the portal's tokens with CHAT_JWT_SECRET).
"""

from portal.settings import check_production_secrets

check_production_secrets()
