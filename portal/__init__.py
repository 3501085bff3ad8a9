"""My ScanSource domain: plain Python, no Rasa imports."""
