"""The web side for people: signed document downloads (and, later, the agents' console)."""
