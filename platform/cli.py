"""The `brokerdesk` command: fronts Django's management commands plus the dev stack.

`brokerdesk demo` and `brokerdesk test` start whatever services are missing before Django
loads its settings; `brokerdesk mt5-sim` and `brokerdesk psp-sim` run the MT5 simulator and
the sandbox PSP without Django; everything else is a management command (`migrate` is
`migrate_all`).
"""

from __future__ import annotations

import os
import sys

ALIASES = {"migrate": "migrate_all"}
DEFAULT_SETTINGS = "brokerdesk.platform.settings.dev"


def main(argv: list[str] | None = None) -> int:
    from django.core.exceptions import ImproperlyConfigured

    try:
        return _dispatch(argv)
    except ImproperlyConfigured as exc:
        print(f"brokerdesk: configuration error: {exc}", file=sys.stderr)
        return 2


def _dispatch(argv: list[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else "help"
    if command == "demo":
        from brokerdesk.platform.devstack.demo import main as demo_main

        return demo_main(args[1:])
    if command == "test":
        from brokerdesk.platform.devstack.testrun import main as test_main

        return test_main(args[1:])
    if command == "mt5-sim":  # stands for an outside server: no Django, no CRM settings
        from brokerdesk.modules.trading.simulator.main import main as mt5_sim_main

        return mt5_sim_main(args[1:])
    if command == "kyc-provider-sim":  # an outside identity-verification service: no Django
        from brokerdesk.modules.kyc.providers.simulator import main as kyc_sim_main

        return kyc_sim_main(args[1:])
    if command == "psp-sim":  # stands for an outside payment provider: no Django either
        from brokerdesk.modules.payments.sandbox.main import main as psp_sim_main

        return psp_sim_main(args[1:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEFAULT_SETTINGS)
    if command in {"worker", "beat"}:
        return _celery(command, args[1:])
    from django.core.management import execute_from_command_line

    execute_from_command_line(["brokerdesk", ALIASES.get(command, command), *args[1:]])
    return 0


def _celery(command: str, extra: list[str]) -> int:
    import django

    django.setup()
    from brokerdesk.platform.celery import app

    app.worker_main([command, "--loglevel=INFO", *extra]) if command == "worker" else app.start(
        ["beat", "--loglevel=INFO", *extra]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
