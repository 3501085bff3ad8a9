"""Held-out NLU evaluation: accuracy, weighted F1, out-of-scope recall.

Parses every example of the held-out set (tests/nlu/holdout_*.yml, which
training never sees) with the trained model, exactly as the server would
(FallbackClassifier and InputGuard included), and prints the figures.

    python bench/nlu_eval.py [--model models/assistant.tar.gz]
        [--min-f1 0.92] [--min-oos-recall 0.85] [--json results/holdout.json]

Exit code 1 when a floor given on the command line is not met.

How the figures are counted:
- accuracy / weighted F1 ("final"): the intent the assistant acts on; a
  fallback (nlu_fallback) on an in-scope message counts as a miss.
- "top intent" figures: the classifier's first non-fallback intent, to see
  how much the fallback threshold costs.
- out-of-scope recall: share of out-of-scope messages the assistant does not
  answer as if they were a question it knows (predicted out_of_scope or
  nlu_fallback).
- wrong confident answers: in-scope messages answered with another intent.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FALLBACK = "nlu_fallback"
OOS = "out_of_scope"


def suggestions(ranking: list[dict]) -> list[str]:
    from actions.fallback import suggestions as offered

    return offered(ranking)


def load_examples(pattern: str) -> list[tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    examples = []
    for path in sorted(glob.glob(pattern)):
        for message in load_data(path).intent_examples:
            examples.append((message.get("text"), message.get("intent")))
    return examples


async def predict(model: str, texts: list[str]) -> list[dict]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    return [await agent.parse_message(text) for text in texts]


def top_non_fallback(parse: dict) -> str:
    for item in parse.get("intent_ranking") or []:
        if item["name"] != FALLBACK:
            return item["name"]
    return parse["intent"]["name"]


def refallback(parse: dict, threshold: float, ambiguity: float) -> str:
    """The final intent had FallbackClassifier used other thresholds."""
    if parse["intent"]["name"] == OOS and parse["intent"].get("confidence") == 1.0:
        return OOS  # forced by InputGuard, independent of the threshold
    ranking = [r for r in parse.get("intent_ranking") or [] if r["name"] != FALLBACK]
    if not ranking:
        return parse["intent"]["name"]
    top = ranking[0]
    second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
    if top["confidence"] < threshold or top["confidence"] - second < ambiguity:
        return FALLBACK
    return top["name"]


def scores(gold: list[str], predicted: list[str]) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return (
        accuracy_score(gold, predicted),
        f1_score(gold, predicted, average="weighted", zero_division=0),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "assistant.tar.gz"))
    parser.add_argument("--holdout", default=str(ROOT / "tests" / "nlu" / "holdout_*.yml"))
    parser.add_argument("--min-f1", type=float)
    parser.add_argument("--min-oos-recall", type=float)
    parser.add_argument("--json", help="also write the figures and errors here")
    parser.add_argument(
        "--sweep", action="store_true",
        help="also print the figures for other FallbackClassifier thresholds",
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)

    examples = load_examples(args.holdout)
    texts = [text for text, _ in examples]
    gold = [intent for _, intent in examples]
    parses = asyncio.run(predict(args.model, texts))
    final = [p["intent"]["name"] for p in parses]
    top = [top_non_fallback(p) for p in parses]

    acc, f1 = scores(gold, final)
    top_acc, top_f1 = scores(gold, top)
    oos = [i for i, g in enumerate(gold) if g == OOS]
    oos_caught = sum(final[i] in (OOS, FALLBACK) for i in oos)
    oos_recall = oos_caught / len(oos) if oos else float("nan")
    in_scope = [i for i, g in enumerate(gold) if g != OOS]
    wrong = [i for i in in_scope if final[i] not in (gold[i], FALLBACK)]
    fell_back = [i for i in in_scope if final[i] == FALLBACK]
    rescued = sum(
        gold[i] in suggestions(parses[i].get("intent_ranking") or []) for i in fell_back
    )
    confusions = Counter((gold[i], final[i]) for i in wrong + [i for i in oos if final[i] not in (OOS, FALLBACK)])

    training = load_examples(str(ROOT / "data" / "nlu" / "*.yml"))
    print(f"training examples:            {len(training)} ({len({i for _, i in training})} intents)")
    print(f"held-out examples:            {len(examples)} ({len(set(gold))} intents)")
    print(f"accuracy (final):             {acc:.3f}")
    print(f"weighted F1 (final):          {f1:.3f}")
    print(f"accuracy / F1 (top intent):   {top_acc:.3f} / {top_f1:.3f}")
    print(f"out-of-scope recall:          {oos_recall:.3f} ({oos_caught}/{len(oos)})")
    print(f"in-scope sent to fallback:    {len(fell_back)}/{len(in_scope)}"
          f" (right question among the buttons offered: {rescued}/{len(fell_back)})")
    print(f"wrong confident answers:      {len(wrong)}/{len(in_scope)}")
    for (g, p), n in confusions.most_common(12):
        print(f"  {n} x {g} -> {p}")

    if args.sweep:
        print("threshold sweep (ambiguity 0.08): threshold -> F1, OOS recall, wrong answers")
        for threshold in (0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7):
            swept = [refallback(p, threshold, 0.08) for p in parses]
            _, sf1 = scores(gold, swept)
            s_oos = sum(swept[i] in (OOS, FALLBACK) for i in oos) / max(1, len(oos))
            s_wrong = sum(swept[i] not in (gold[i], FALLBACK) for i in in_scope)
            print(f"  {threshold:.2f} -> {sf1:.3f}  {s_oos:.3f}  {s_wrong}")

    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(
            json.dumps(
                {
                    "accuracy": acc,
                    "weighted_f1": f1,
                    "top_intent_accuracy": top_acc,
                    "top_intent_weighted_f1": top_f1,
                    "oos_recall": oos_recall,
                    "errors": [
                        {"text": texts[i], "gold": gold[i], "predicted": final[i],
                         "confidence": parses[i]["intent"].get("confidence")}
                        for i in range(len(gold)) if final[i] != gold[i]
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )

    failed = False
    if args.min_f1 is not None and f1 < args.min_f1:
        print(f"FAIL: weighted F1 {f1:.3f} is below the floor {args.min_f1}")
        failed = True
    if args.min_oos_recall is not None and oos_recall < args.min_oos_recall:
        print(f"FAIL: out-of-scope recall {oos_recall:.3f} is below the floor {args.min_oos_recall}")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
