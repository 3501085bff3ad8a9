"""Developer tooling: starting the local stack for `make run`, tests and bench."""
