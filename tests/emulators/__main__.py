"""Run both emulators from a shell: `python -m tests.emulators --workers 500 --seed 1`.

Starts the Deel emulator (with a generated workforce) and an empty JumpCloud emulator on
127.0.0.1, prints one JSON line with both API URLs, and serves until SIGINT or SIGTERM.
The line never carries the tokens; pass your own with --deel-token / --jumpcloud-key (or the
DEEL_EMULATOR_TOKEN / JUMPCLOUD_EMULATOR_KEY environment variables) when the defaults will not do.
A JumpCloud service account is registered with --jumpcloud-client-id and the secret in the
JUMPCLOUD_EMULATOR_CLIENT_SECRET environment variable (never on the command line).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

from tests.emulators.base import EmulatorServer
from tests.emulators.deel import DeelEmulator
from tests.emulators.jumpcloud import JumpCloudEmulator
from tests.emulators.workforce import generate_workforce

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.emulators",
        description="Serve the Deel and JumpCloud emulators on 127.0.0.1 until interrupted.",
    )
    parser.add_argument("--deel-port", type=int, default=0, help="0 = an ephemeral port")
    parser.add_argument("--jumpcloud-port", type=int, default=0, help="0 = an ephemeral port")
    parser.add_argument("--workers", type=int, default=100, help="people in the Deel org")
    parser.add_argument("--seed", type=int, default=0, help="workforce seed")
    parser.add_argument("--domain", default="acme.example", help="work email domain")
    parser.add_argument(
        "--no-rate-limit", action="store_true", help="turn off Deel's 5 requests/second limit"
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to Deel requests")
    parser.add_argument(
        "--jumpcloud-latency-ms", type=float, default=0.0, help="added to JumpCloud requests"
    )
    parser.add_argument(
        "--deel-token",
        default=os.environ.get("DEEL_EMULATOR_TOKEN", "deel-test-token"),
        help="bearer token the Deel emulator accepts (default: deel-test-token)",
    )
    parser.add_argument(
        "--jumpcloud-key",
        default=os.environ.get("JUMPCLOUD_EMULATOR_KEY", "jc-test-key"),
        help="x-api-key the JumpCloud emulator accepts (default: jc-test-key)",
    )
    parser.add_argument(
        "--jumpcloud-client-id",
        default=os.environ.get("JUMPCLOUD_EMULATOR_CLIENT_ID"),
        help="register a service account with this client id (its secret: the environment "
        "variable JUMPCLOUD_EMULATOR_CLIENT_SECRET)",
    )
    parser.add_argument(
        "--jumpcloud-token-lifetime",
        type=float,
        default=3600.0,
        help="expires_in of the service account's tokens, in seconds (default 3600)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Start both emulators, print their URLs, serve until a signal; 0 on a clean stop."""
    args = _parser().parse_args(argv)
    if args.workers < 0 or args.latency_ms < 0 or args.jumpcloud_latency_ms < 0:
        print("workers and latencies must not be negative", file=sys.stderr)
        return 2
    workforce = generate_workforce(args.workers, args.seed, domain=args.domain)
    deel = DeelEmulator(
        token=args.deel_token, workforce=workforce, rate_limit=not args.no_rate_limit
    )
    deel.latency = args.latency_ms / 1000
    jumpcloud = JumpCloudEmulator(
        api_key=args.jumpcloud_key, token_lifetime=args.jumpcloud_token_lifetime
    )
    jumpcloud.latency = args.jumpcloud_latency_ms / 1000
    if args.jumpcloud_client_id:
        secret = os.environ.get("JUMPCLOUD_EMULATOR_CLIENT_SECRET", "")
        if not secret:
            print("set JUMPCLOUD_EMULATOR_CLIENT_SECRET for --jumpcloud-client-id", file=sys.stderr)
            return 2
        jumpcloud.oauth.add_client(args.jumpcloud_client_id, secret)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        deel_server = EmulatorServer(deel, args.deel_port)
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.deel_port}: {exc}", file=sys.stderr)
        return 2
    try:
        jumpcloud_server = EmulatorServer(jumpcloud, args.jumpcloud_port)
    except OSError as exc:
        deel_server.httpd.server_close()
        print(f"cannot listen on 127.0.0.1:{args.jumpcloud_port}: {exc}", file=sys.stderr)
        return 2
    with deel_server, jumpcloud_server:
        line = {
            "deel_api_url": f"{deel_server.url}/rest/v2",
            "jumpcloud_api_url": f"{jumpcloud_server.url}/api",
            "jumpcloud_token_url": f"{jumpcloud_server.url}/oauth2/token",
            "workers": args.workers,
            "seed": args.seed,
            "rate_limit": not args.no_rate_limit,
        }
        print(json.dumps(line), flush=True)
        # Serialise the people while the caller gets ready, so its first full read is quick.
        threading.Thread(target=deel.prewarm, name="deel-prewarm", daemon=True).start()
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
