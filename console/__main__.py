"""python -m console [--port 8000]: the web app, on 127.0.0.1 only."""

import argparse
import os

from console.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("CONSOLE_PORT", "8000")))
    args = parser.parse_args()
    create_app().run(host="127.0.0.1", port=args.port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
