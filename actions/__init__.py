"""Rasa SDK actions: thin adapters between the conversation and ``portal``."""

from portal.settings import check_production_secrets

check_production_secrets()
