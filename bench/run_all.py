"""Prints every figure the README's targets talk about.

    make bench            (or: python bench/run_all.py [--skip-training])

1. held-out NLU figures (bench/nlu_eval.py);
2. full training time (`rasa train --force` into a temporary folder);
3. cold start: seconds from launching the servers until both answer;
4. FAQ-turn latency over REST, sequential: p50 / p95 over 200 turns;
5. throughput with 16 concurrent conversations;
6. Rasa server peak RSS (VmHWM) after all of the above.

Servers bind to 127.0.0.1 on free ports with a throwaway tracker database.
The machine is shared and noisy: run it more than once and compare medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.stack import Stack, free_port  # noqa: E402
from portal.migrate import upgrade  # noqa: E402

# Real-user FAQ phrasings, cycled through by the latency and load runs.
QUESTIONS = [
    "esqueci minha senha",
    "como adiciono um usuario novo?",
    "nao consigo baixar o boleto",
    "quais os tipos de perfil?",
    "o que e a my scansource?",
    "da pra pedir cotacao por la?",
    "nao consigo fazer login",
    "as notas fiscais nao aparecem",
    "como me cadastro?",
    "meu cliente final pode acessar?",
]
BASELINE_P50_MS, BASELINE_P95_MS, BASELINE_RPS = 33.0, 45.0, 20.0  # bare `rasa init` bot, this machine


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def timed_turn(session: requests.Session, url: str, sender: str, text: str) -> float:
    started = time.perf_counter()
    response = session.post(url, json={"sender": sender, "message": text}, timeout=30)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    if not response.json():
        raise RuntimeError(f"no answer to {text!r}")
    return elapsed * 1000


def latency(stack: Stack, turns: int = 200, per_conversation: int = 20) -> list[float]:
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    session = requests.Session()
    for i in range(10):  # warm-up, not counted
        timed_turn(session, url, "bench-warmup", QUESTIONS[i % len(QUESTIONS)])
    samples = []
    sender = ""
    for i in range(turns):
        if i % per_conversation == 0:
            sender = f"bench-{uuid.uuid4().hex[:8]}"
        samples.append(timed_turn(session, url, sender, QUESTIONS[i % len(QUESTIONS)]))
    return samples


def throughput(stack: Stack, conversations: int = 16, turns_each: int = 25) -> tuple[float, list[float]]:
    url = f"{stack.rasa_url}/webhooks/rest/webhook"

    def converse(n: int) -> list[float]:
        session = requests.Session()
        sender = f"load-{n}-{uuid.uuid4().hex[:6]}"
        return [
            timed_turn(session, url, sender, QUESTIONS[(n + i) % len(QUESTIONS)])
            for i in range(turns_each)
        ]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=conversations) as pool:
        results = list(pool.map(converse, range(conversations)))
    elapsed = time.perf_counter() - started
    samples = [s for r in results for s in r]
    return len(samples) / elapsed, samples


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def training_seconds() -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).parent / "rasa"), "train", "--force", "--out", out,
             "--fixed-model-name", "bench"],
            cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # No training cache: every component really trains.
            env={**os.environ, "PYTHONPATH": str(ROOT), "RASA_MAX_CACHE_SIZE": "0"},
        )
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-training", action="store_true", help="skip the full training run")
    args = parser.parse_args()

    print("== Held-out NLU (bench/nlu_eval.py)", flush=True)
    subprocess.run([sys.executable, str(ROOT / "bench" / "nlu_eval.py"), "--sweep"], check=True)

    train_s = None
    if not args.skip_training:
        print("\n== Full training (rasa train --force) ...", flush=True)
        train_s = training_seconds()
        print(f"full training time:           {train_s:.0f} s   (target <= 180 s)")

    with tempfile.TemporaryDirectory() as tmp:
        # The servers read the portal database on session start and on REST
        # turns: an empty, migrated one of their own.
        database_url = f"sqlite:///{Path(tmp) / 'portal.db'}"
        upgrade(database_url)
        stack = Stack(rasa_port=free_port(), action_port=free_port(),
                      tracker_db=Path(tmp) / "tracker.db", log_dir=Path(tmp) / "log",
                      extra_env={"DATABASE_URL": database_url})
        started = time.perf_counter()
        stack.start_actions()
        stack.start_rasa()
        try:
            stack.wait_ready()
            cold = time.perf_counter() - started
            print(f"\n== Servers\ncold start (launch -> ready):  {cold:.1f} s   (target <= 30 s)")

            samples = latency(stack)
            p50, p95 = statistics.median(samples), percentile(samples, 95)
            print(f"\n== FAQ turn latency, REST, sequential, {len(samples)} turns")
            print(f"p50 / p95:                    {p50:.1f} / {p95:.1f} ms   (target p95 <= 45 ms)")
            print(f"vs bare `rasa init` bot:      p50 x{p50 / BASELINE_P50_MS:.2f}, p95 x{p95 / BASELINE_P95_MS:.2f}")

            rps, loaded = throughput(stack)
            print(f"\n== 16 concurrent conversations, {len(loaded)} turns")
            print(f"throughput:                   {rps:.1f} msg/s   (bare bot: {BASELINE_RPS:.0f} msg/s, x{rps / BASELINE_RPS:.2f})")
            print(f"latency under load p50 / p95: {statistics.median(loaded):.0f} / {percentile(loaded, 95):.0f} ms")

            rss = peak_rss_mb(stack.processes["rasa"].pid)
            print(f"\n== Memory\nRasa server peak RSS:         {rss:.0f} MB   (target <= 1200 MB)")
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
