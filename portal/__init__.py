"""My ScanSource domain: plain Python and SQLAlchemy, no Rasa imports."""
