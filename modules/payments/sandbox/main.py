"""`brokerdesk psp-sim`: run the sandbox PSP as its own process (docs/psp-sandbox.md)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from brokerdesk.modules.payments.sandbox.server import Faults, PspServer, PspState

DEFAULT_MERCHANT = "sandbox-merchant:sandbox-signing-secret"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="brokerdesk psp-sim",
        description="The sandbox PSP: hosted payment page, HMAC-signed callbacks, status "
        "queries, a daily settlement file, payouts, and callback fault switches.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=18500, help="0 picks a free port")
    p.add_argument("--public-url", default="", help="the address browsers reach this PSP at")
    p.add_argument(
        "--merchant", action="append", default=[], metavar="ID:SECRET",
        help=f"a merchant and its signing secret (repeatable; default {DEFAULT_MERCHANT})",
    )  # fmt: skip
    p.add_argument("--fee-bps", type=int, default=0, help="fee on approved payments (1/100 %%)")
    p.add_argument("--control-token", default="", help="required X-Sim-Token on /_sim/")
    p.add_argument("--seed", type=int, default=None, help="seed for the reorder switch")
    p.add_argument("--payout-delay-s", type=float, default=0.2)
    p.add_argument(
        "--senders", type=int, default=1, help="callbacks sent in parallel (1: in order)"
    )
    for name in ("drop", "duplicate", "delay-ms", "hold"):
        p.add_argument(f"--{name}", type=int, default=0, help="callback fault switch (see docs)")
    p.add_argument("--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s psp-sim %(levelname)s %(message)s",
    )
    merchants = {}
    for spec in args.merchant or [DEFAULT_MERCHANT]:
        merchant_id, _, secret = spec.partition(":")
        if not merchant_id or not secret:
            print(f"psp-sim: --merchant wants ID:SECRET, not {spec!r}", file=sys.stderr)
            return 2
        merchants[merchant_id] = secret
    state = PspState(merchants, fee_bps=args.fee_bps, seed=args.seed, public_url=args.public_url)
    faults = Faults(drop=args.drop, duplicate=args.duplicate, delay_ms=args.delay_ms,
                    hold=args.hold)  # fmt: skip
    server = PspServer((args.host, args.port), state, faults=faults,
                       control_token=args.control_token, payout_delay_s=args.payout_delay_s,
                       senders=args.senders)  # fmt: skip
    host, port = server.server_address[:2]
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    # The first line on stdout is the address: callers that passed --port 0 read it.
    print(f"psp-sim listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
