"""Trains each NLU pipeline variant of bench/pipelines.yml and prints a table.

    python bench/compare_pipelines.py [variant ...]

For every variant: NLU training time, and the held-out figures of
bench/nlu_eval.py (weighted F1, out-of-scope recall, wrong confident answers).
Takes a few minutes per variant on 2 cores.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def variant_config(base: dict, overrides: dict) -> dict:
    config = copy.deepcopy(base)
    for key, changes in overrides.items():
        name, _, index = key.partition("#")
        positions = [i for i, c in enumerate(config["pipeline"]) if c["name"] == name]
        position = positions[int(index or 0)]
        if "name" in changes:  # a different component in the same place
            config["pipeline"][position] = dict(changes)
        else:
            config["pipeline"][position].update(changes)
    return config


def main() -> int:
    base = yaml.safe_load((ROOT / "config.yml").read_text())
    variants = yaml.safe_load((ROOT / "bench" / "pipelines.yml").read_text())
    chosen = sys.argv[1:] or list(variants)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in chosen:
            config_path = Path(tmp) / f"{name}.yml"
            config_path.write_text(yaml.safe_dump(variant_config(base, variants[name])))
            started = time.perf_counter()
            subprocess.run(
                [str(BIN / "rasa"), "train", "nlu", "-c", str(config_path), "--out", tmp,
                 "--fixed-model-name", name],
                cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                # No training cache: every variant really trains.
                env={**os.environ, "PYTHONPATH": str(ROOT), "RASA_MAX_CACHE_SIZE": "0"},
            )
            seconds = time.perf_counter() - started
            report = subprocess.run(
                [sys.executable, str(ROOT / "bench" / "nlu_eval.py"), "--model",
                 str(Path(tmp) / f"{name}.tar.gz")],
                cwd=ROOT, check=True, capture_output=True, text=True,
            ).stdout
            figure = lambda label: re.search(label + r":\s+([\d.]+)", report).group(1)  # noqa: E731
            rows.append((name, seconds, figure(r"weighted F1 \(final\)"),
                         figure("out-of-scope recall"),
                         re.search(r"wrong confident answers:\s+(\d+/\d+)", report).group(1)))
            print(f"{name}: trained in {seconds:.0f} s", flush=True)
    print("\n| variant | NLU training | held-out weighted F1 | OOS recall | wrong answers |")
    print("|---|---|---|---|---|")
    for name, seconds, f1, oos, wrong in rows:
        print(f"| {name} | {seconds:.0f} s | {f1} | {oos} | {wrong} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
