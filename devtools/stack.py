"""Starts the assistant's processes on 127.0.0.1 and stops them again.

Used three ways:
- ``make run``: ``python -m devtools.stack`` runs in the foreground, prints
  where to talk to the bot, and stops everything on Ctrl-C;
- the pytest suite and ``bench/``: ``with Stack(...) as stack:`` on free ports
  with their own tracker database, so they never touch a running ``make run``.

Children get PR_SET_PDEATHSIG, so they also die if this process is killed.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DEFAULT_MODEL = ROOT / "models" / "assistant.tar.gz"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child, before exec
    os.setsid()
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Stack:
    """The Rasa server, the action server and the web app, on 127.0.0.1."""

    rasa_port: int = 5005
    action_port: int = 5055
    console_port: int = 8000
    tracker_db: Path = ROOT / "var" / "tracker.db"
    log_dir: Path = ROOT / "var" / "log"
    model: Path = DEFAULT_MODEL
    auth_token: str = field(default_factory=lambda: os.environ.get("RASA_AUTH_TOKEN", "dev-only-rasa-token"))
    extra_env: dict[str, str] = field(default_factory=dict)
    startup_timeout: float = 120.0
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(ROOT),
            SANIC_HOST="127.0.0.1",
            ACTION_ENDPOINT_URL=f"{self.action_url}/webhook",
            DOCUMENTS_BASE_URL=f"{self.console_url}/documentos/",
            TRACKER_SQLITE_PATH=str(self.tracker_db),
            # The console reads conversations and replies through Rasa's API,
            # and the insights read the tracker store.
            RASA_URL=self.rasa_url,
            RASA_AUTH_TOKEN=self.auth_token,
            TRACKER_DATABASE_URL=f"sqlite:///{self.tracker_db}",
            SQLALCHEMY_SILENCE_UBER_WARNING="1",
            TF_CPP_MIN_LOG_LEVEL="3",
            RASA_TELEMETRY_ENABLED="false",
        )
        env.update(self.extra_env)
        return env

    def _spawn(self, name: str, args: list[str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        log.close()

    def start_actions(self) -> None:
        self._spawn(
            "actions",
            [str(VENV_BIN / "python"), "-m", "rasa_sdk", "--actions", "actions",
             "--port", str(self.action_port)],
        )

    def start_console(self) -> None:
        self._spawn(
            "console",
            [str(VENV_BIN / "python"), "-m", "console", "--port", str(self.console_port)],
        )

    def start_rasa(self) -> None:
        if not self.model.exists():
            raise FileNotFoundError(f"{self.model} is missing: run `make train` first")
        self.tracker_db.parent.mkdir(parents=True, exist_ok=True)
        self._spawn(
            "rasa",
            [str(VENV_BIN / "rasa"), "run", "--model", str(self.model),
             "--interface", "127.0.0.1", "--port", str(self.rasa_port),
             "--enable-api", "--auth-token", self.auth_token,
             "--credentials", "credentials.yml", "--endpoints", "endpoints.yml",
             "--cors", "*"],
        )

    def start(self) -> "Stack":
        self.start_actions()
        self.start_console()
        self.start_rasa()
        self.wait_ready()
        return self

    def restart_rasa(self) -> float:
        """Stops the Rasa server and starts it again; returns the seconds it took."""
        process = self.processes.pop("rasa")
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        self.start_rasa()
        return self.wait_ready()

    def wait_ready(self) -> float:
        """Blocks until both servers answer; returns the seconds it took."""
        started = time.monotonic()
        urls = {
            "actions": f"{self.action_url}/health",
            "console": f"{self.console_url}/health",
            "rasa": f"{self.rasa_url}/",
        }
        pending = {name: url for name, url in urls.items() if name in self.processes}
        while pending:
            for name, url in list(pending.items()):
                process = self.processes.get(name)
                if process is not None and process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}; see {self.log_dir / (name + '.log')}"
                    )
                try:
                    if requests.get(url, timeout=1).status_code == 200:
                        del pending[name]
                except requests.RequestException:
                    pass
            if time.monotonic() - started > self.startup_timeout:
                self.stop()
                raise TimeoutError(f"not ready after {self.startup_timeout}s: {sorted(pending)}")
            if pending:
                time.sleep(0.2)
        return time.monotonic() - started

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def say(self, sender: str, message: str, timeout: float = 30) -> list[dict]:
        """One turn over the REST channel; the bot's messages."""
        response = requests.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message},
            timeout=timeout,
        )
        response.raise_for_status()
        return response.json()


def main() -> int:
    port = int(os.environ.get("RASA_PORT", "5005"))
    action_port = int(os.environ.get("ACTION_PORT", "5055"))
    console_port = int(os.environ.get("CONSOLE_PORT", "8000"))
    tracker = Path(os.environ.get("TRACKER_SQLITE_PATH", "var/tracker.db"))
    stack = Stack(
        rasa_port=port,
        action_port=action_port,
        console_port=console_port,
        tracker_db=tracker if tracker.is_absolute() else ROOT / tracker,
    )
    print("Starting the action server, the web app and the Rasa server...", flush=True)
    started = time.monotonic()
    try:
        stack.start()
    except KeyboardInterrupt:
        stack.stop()
        return 130
    except (RuntimeError, TimeoutError, FileNotFoundError) as error:
        print(f"Could not start: {error}", file=sys.stderr)
        stack.stop()
        return 1
    seconds = time.monotonic() - started
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(
        f"""
Ready in {seconds:.0f}s. Logs: {stack.log_dir}/rasa.log and actions.log

Talk to the assistant:
  REST:   curl -s {stack.rasa_url}/webhooks/rest/webhook \\
            -H 'Content-Type: application/json' \\
            -d '{{"sender": "minha-conversa-1", "message": "esqueci minha senha"}}'
  Shell:  .venv/bin/python -m devtools.chat        (type messages, Ctrl-D to quit)
  Socket: socket.io at {stack.rasa_url} (events user_uttered / bot_uttered)
  Action server: {stack.action_url}/health
  Website widget on a demo portal page (visitor or logged-in demo user):
          {stack.console_url}/
  Agents' console: {stack.console_url}/atendimento/
    agente@scansource.com.br / demo-agente-2026 (also agente2@...)
    supervisor@scansource.com.br / demo-supervisor-2026
  Demo reseller accounts: .venv/bin/python -m portal demo-users

Ctrl-C stops everything.""",
        flush=True,
    )
    try:
        while not stopping:
            for name, process in stack.processes.items():
                if process.poll() is not None:
                    print(f"{name} stopped unexpectedly (exit {process.returncode}); see its log.",
                          file=sys.stderr)
                    stopping = True
            time.sleep(0.5)
    finally:
        print("\nStopping...", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
