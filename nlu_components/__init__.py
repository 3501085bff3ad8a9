"""Custom Rasa NLU components for chat-style Brazilian Portuguese."""
