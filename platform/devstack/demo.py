"""`brokerdesk demo`: the whole product on one machine, with two branded demo brokers.

Starts (or reuses) PostgreSQL, Redis and S3, migrates, starts a real Celery worker,
provisions `acme` and `zenith` through it, starts gunicorn and a live and a demo MT5 simulator
per broker (registered as the broker's trading servers), fills each broker with demo data
(`demo_data.py`: staff per role, routing, leads, KYC cases, a segment) and serves until
SIGINT/SIGTERM.
`--smoke` checks every face over HTTP instead of serving, then stops. Runs are idempotent:
a second run reuses the data dir and provisions nothing that exists.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import signal
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from brokerdesk.platform.devstack import demo_data
from brokerdesk.platform.devstack.services import (
    APP,
    VENV_BIN,
    DevStack,
    ServiceError,
    free_port,
    port_free,
)

SETTINGS = "brokerdesk.platform.settings.dev"
DEMO_PASSWORD = demo_data.DEMO_PASSWORD
PROVISION_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class DemoBroker:
    slug: str
    name: str
    owner_email: str
    branding: dict[str, str] = field(default_factory=dict)


BROKERS = (
    DemoBroker(
        "acme",
        "Acme FX",
        "owner@acme.example",
        {
            "primary_color": "#e4572e",
            "accent_color": "#1b1b3a",
            "tagline": "Tight spreads, fast fills.",
        },
    ),
    DemoBroker(
        "zenith",
        "Zenith Markets",
        "owner@zenith.example",
        {"primary_color": "#17a398", "accent_color": "#0b3954", "tagline": "Trade from the top."},
    ),
)
# What a visitor reaches without signing in: the Back Office and Partner portal homes send
# anonymous visitors to these (branded) login pages.
FACES = (
    ("/", "Trader's Room"),
    ("/backoffice/login/", "Back Office"),
    ("/partners/login/", "Partner portal"),
)


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived."""


class DemoError(RuntimeError):
    """The demo cannot go on; the message says why."""


def _domain() -> str:
    """The platform's domain; brokers live on <slug>.<domain>."""
    return os.environ.get("PLATFORM_DOMAIN") or "localhost"


def say(message: str) -> None:
    """One progress line, flushed at once (the output is often a pipe)."""
    print(message, flush=True)


def main(argv: list[str]) -> int:
    """Run the demo; 0 on a clean stop or a passed smoke check."""
    args = _parse(argv)
    if not port_free(args.port):
        say(f"demo: port {args.port} on 127.0.0.1 is in use; pick another with --port")
        return 2
    stack = DevStack(say=say)
    with _interruptible():
        try:
            return _run(stack, args)
        except Interrupted as exc:
            say(f"demo: {exc} received, stopping")
            return 0
        except (ServiceError, DemoError) as exc:
            say(f"demo: FAILED: {exc}")
            return 1
        finally:
            _shutdown(stack)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="brokerdesk demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port", type=int, default=8000, help="HTTP port on 127.0.0.1 (default 8000)"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="check every face over HTTP, then stop (exit 1 on failure)",
    )
    return parser.parse_args(argv)


def _run(stack: DevStack, args: argparse.Namespace) -> int:
    """Everything between start and serve; returns the exit status."""
    started = time.perf_counter()
    say(f"services: data dir {stack.root}")
    env = stack.ensure_infra()
    os.environ.update(env)
    os.environ["PUBLIC_URL_PORT"] = str(args.port)
    os.environ.setdefault("PLATFORM_DOMAIN", "localhost")
    # Always the dev settings: an inherited DJANGO_SETTINGS_MODULE (pytest sets one) is not meant.
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    _django_setup()
    # The sandbox PSP calls back over loopback: *.localhost does not resolve outside browsers.
    os.environ["PAYMENTS_CALLBACK_BASE_URL"] = f"http://127.0.0.1:{args.port}"
    _start_worker(stack)
    _start_beat(stack)
    # gunicorn boots while the brokers provision; it answers 503 for them until they are active.
    _start_web(stack, args.port)
    simulators = _start_simulators(stack)
    psp_port = _start_psp(stack)
    _provision_all(stack)
    _operator_login()
    _demo_data_all(args.port)
    _simulators_await(stack, simulators)
    _servers_register(simulators)
    _trading_demo_all()
    _psp_register(stack, psp_port)
    stack.await_ready("web", lambda: _get(args.port, _domain(), "/healthz")[0] == 200)
    say(f"web: serving on http://127.0.0.1:{args.port}/")
    say(f"ready in {time.perf_counter() - started:.1f} s")
    _print_urls(stack, args.port)
    if args.smoke:
        return _smoke(args.port, simulators)
    say("serving; press Ctrl-C to stop")
    return _serve(stack, [sim.name for sim in simulators])


def _django_setup() -> None:
    """django.setup(), then migrate_all() with its one-line summary."""
    import django

    django.setup()
    from brokerdesk.tenants.migrating import migrate_all

    report = migrate_all(verbosity=0, log=lambda line: say(f"migrate: {line}"))
    say(f"migrate: {report.summary()}")


def _start_worker(stack: DevStack) -> None:
    """A real Celery worker (never eager): provisioning runs on it."""
    argv = [
        str(VENV_BIN / "brokerdesk"), "worker", "--concurrency=2", "--pool=prefork",
        "--hostname=demo@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    stack.spawn("worker", argv, tier=APP)
    say(f"worker: started, pid {stack.get('worker').pid}, log {stack.log_dir / 'worker.log'}")


def _start_beat(stack: DevStack) -> None:
    """Celery beat: the periodic jobs, among them the trading sync (deals every minute,
    balances every five, lost balance operations settled) on the demo simulators."""
    argv = [
        str(VENV_BIN / "brokerdesk"), "beat",
        "--schedule", str(stack.root / "celerybeat-schedule"),
    ]  # fmt: skip
    stack.spawn("beat", argv, tier=APP)
    say(f"beat: started, pid {stack.get('beat').pid}, log {stack.log_dir / 'beat.log'}")


def _start_web(stack: DevStack, port: int) -> None:
    """gunicorn on 127.0.0.1:<port> (not waited for here)."""
    argv = [
        str(VENV_BIN / "gunicorn"), "brokerdesk.platform.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
        "--graceful-timeout", "5", "--access-logfile", "-",
    ]  # fmt: skip
    stack.spawn("web", argv, tier=APP)
    say(f"web: started, pid {stack.get('web').pid}, log {stack.log_dir / 'web.log'}")


def _provision_all(stack: DevStack) -> None:
    """Request the demo brokers (a no-op for those that exist), wait until active, set logins."""
    from django.db import connection

    # Both at once, as an operator would: the worker runs two provisionings concurrently.
    pending = [item for broker in BROKERS if (item := _request(broker)) is not None]
    for item in pending:
        _await_active(stack, item)
    for broker in BROKERS:
        _owner_login(broker)
    connection.close()


# --- the MT5 simulators ----------------------------------------------------------------------

SIM_MANAGER_LOGIN = 1000
ENVIRONMENTS = ("live", "demo")


@dataclass(frozen=True)
class Simulator:
    """One `brokerdesk mt5-sim` process: a broker's live or demo server."""

    broker: DemoBroker
    environment: str
    port: int

    @property
    def name(self) -> str:
        return f"mt5-{self.broker.slug}-{self.environment}"

    @property
    def server_name(self) -> str:
        return f"{self.broker.name} {self.environment.title()} (simulator)"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def manager_password(self) -> str:
        # Not a secret: the simulator is local and its books are demo data.
        return f"Demo-{self.broker.slug.title()}-{self.environment.title()}-1"


def _start_simulators(stack: DevStack) -> list[Simulator]:
    """A live and a demo simulator per broker on free ports (not waited for here); each keeps
    its books in a state file under the data dir, so accounts survive a restart."""
    state_dir = stack.root / "mt5"
    state_dir.mkdir(exist_ok=True)
    simulators = []
    for number, broker in enumerate(BROKERS):
        for offset, environment in enumerate(ENVIRONMENTS):
            sim = Simulator(broker, environment, free_port())
            argv = [
                str(VENV_BIN / "brokerdesk"), "mt5-sim", "--port", str(sim.port),
                "--manager", f"{SIM_MANAGER_LOGIN}:{sim.manager_password}",
                "--seed", str(1000 + 10 * number + offset),
                "--state-file", str(state_dir / f"{broker.slug}-{environment}.json"),
            ]  # fmt: skip
            stack.spawn(sim.name, argv, url=f"http://{sim.address}", tier=APP)
            simulators.append(sim)
    say(f"mt5-sim: started {len(simulators)} simulators, logs {stack.log_dir}/mt5-*.log")
    return simulators


def _handshake(sim: Simulator) -> str | None:
    """Authenticate as the manager and ping: None if the simulator answers, else why not."""
    from brokerdesk.modules.trading.gateways.mt5.client import Mt5Gateway
    from brokerdesk.modules.trading.gateways.mt5.session import Mt5Connection, Mt5Session

    connection = Mt5Connection(
        address=sim.address,
        manager_login=SIM_MANAGER_LOGIN,
        password=sim.manager_password,
        scheme="http",
        connect_timeout_s=2.0,
        read_timeout_s=5.0,
        read_attempts=1,
    )
    gateway = Mt5Gateway(connection, session=Mt5Session(connection))
    try:
        gateway.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "does not answer"; we say which
        return f"{type(exc).__name__}: {exc}"
    finally:
        gateway.close()
    return None


def _simulators_await(stack: DevStack, simulators: list[Simulator]) -> None:
    for sim in simulators:
        stack.await_ready(sim.name, lambda sim=sim: _handshake(sim) is None, timeout=30.0)
    say(f"mt5-sim: {len(simulators)} simulators answer the handshake")


def _servers_register(simulators: list[Simulator]) -> None:
    """Each simulator as its broker's trading server (tenant configuration, audited);
    a restart only updates the address when the port changed."""
    from django.db import connection

    from brokerdesk.tenants.config.models import TradingServer
    from brokerdesk.tenants.config.services.servers import (
        trading_server_create,
        trading_server_update,
    )
    from brokerdesk.tenants.models import Tenant
    from brokerdesk.tenants.schemas import tenant_context

    for sim in simulators:
        with tenant_context(Tenant.objects.get(slug=sim.broker.slug)):
            server = TradingServer.objects.filter(name=sim.server_name).first()
            if server is None:
                trading_server_create(
                    data={
                        "name": sim.server_name,
                        "platform": "mt5",
                        "address": sim.address,
                        "manager_login": str(SIM_MANAGER_LOGIN),
                        "secret": sim.manager_password,
                        "environment": sim.environment,
                        "currency": "USD",
                        "time_zone": "UTC",
                    },
                    actor="demo",
                )
            elif server.address != sim.address:
                trading_server_update(
                    trading_server=server, changes={"address": sim.address}, actor="demo"
                )
    connection.close()
    say(f"mt5-sim: registered as trading servers of {', '.join(b.slug for b in BROKERS)}")


def _trading_demo_all() -> None:
    """Account types on each broker's simulator groups, two demo accounts for its client."""
    from django.db import connection

    from brokerdesk.tenants.models import Tenant
    from brokerdesk.tenants.schemas import tenant_context

    for broker in BROKERS:
        with tenant_context(Tenant.objects.get(slug=broker.slug)):
            opened = demo_data.trading_demo_ensure(
                broker_name=broker.name, client_email=_demo_email("client", broker)
            )
        say(f"trading: {broker.slug} account types ready, {opened} demo accounts opened")
    connection.close()


# --- the sandbox PSP -------------------------------------------------------------------------

PSP_SECRET_PREFIX = "demo-sandbox-secret"  # not a secret: a local sandbox with demo money


def _start_psp(stack: DevStack) -> int:
    """One `brokerdesk psp-sim` for every broker (a merchant each), on a free port."""
    port = free_port()
    merchants = [
        arg for b in BROKERS for arg in ("--merchant", f"{b.slug}:{PSP_SECRET_PREFIX}-{b.slug}")
    ]
    argv = [str(VENV_BIN / "brokerdesk"), "psp-sim", "--port", str(port), *merchants]
    stack.spawn("psp-sim", argv, url=f"http://127.0.0.1:{port}", tier=APP)
    say(f"psp-sim: started on 127.0.0.1:{port}, log {stack.log_dir / 'psp-sim.log'}")
    return port


def _psp_register(stack: DevStack, port: int) -> None:
    """Each broker's sandbox PSP account and two deposit methods (nothing twice); a restart
    only updates the PSP's address."""
    from django.db import connection

    from brokerdesk.modules.payments.models import PaymentMethod
    from brokerdesk.tenants.config.models import PspCredential
    from brokerdesk.tenants.config.services.psp import (
        psp_credential_create,
        psp_credential_update,
    )
    from brokerdesk.tenants.models import Tenant
    from brokerdesk.tenants.schemas import tenant_context

    url = f"http://127.0.0.1:{port}"
    stack.await_ready("psp-sim", lambda: _answers_any(port), timeout=30.0)
    for broker in BROKERS:
        with tenant_context(Tenant.objects.get(slug=broker.slug)):
            credential = PspCredential.objects.filter(name="Sandbox PSP").first()
            if credential is None:
                credential = psp_credential_create(
                    data={"name": "Sandbox PSP", "provider": "sandbox",
                          "settings": {"merchant_id": broker.slug, "api_url": url},
                          "secrets": {"signing_secret": f"{PSP_SECRET_PREFIX}-{broker.slug}"}},
                    actor="demo",
                )  # fmt: skip
            elif credential.settings.get("api_url") != url:
                psp_credential_update(
                    psp_credential=credential,
                    changes={"settings": {"merchant_id": broker.slug, "api_url": url}},
                    actor="demo",
                )
            if not PaymentMethod.objects.filter(credential=credential).exists():
                for name, kind, minutes, fee in (("Visa / Mastercard", "card", 0, 0),
                                                 ("Bank transfer", "bank", 1440, 150)):  # fmt: skip
                    PaymentMethod.objects.create(
                        name=name, kind=kind, credential=credential, currency="USD",
                        min_minor=1_000, max_minor=1_000_000, fee_fixed_minor=fee,
                        expected_minutes=minutes, withdrawals_enabled=True,
                    )  # fmt: skip
    connection.close()
    say(f"psp-sim: registered as the sandbox PSP of {', '.join(b.slug for b in BROKERS)}")


def _answers_any(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/pay/none")
        return conn.getresponse().status == 404
    except OSError:
        return False
    finally:
        conn.close()


# --- demo data ------------------------------------------------------------------------------


def _demo_data_all(port: int) -> None:
    """Each broker's staff, routing, leads, KYC cases and segment (nothing twice), the brokers
    in parallel threads: most of the time is password hashing, which releases the GIL."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(BROKERS), thread_name_prefix="demo-data") as pool:
        for line in pool.map(lambda broker: _demo_data(broker, port), BROKERS):
            say(line)


def _demo_data(broker: DemoBroker, port: int) -> str:
    from django.db import connection

    from brokerdesk.tenants.models import Tenant
    from brokerdesk.tenants.schemas import tenant_context

    started = time.perf_counter()
    try:
        with tenant_context(Tenant.objects.get(slug=broker.slug)):
            report = demo_data.demo_data_ensure(
                slug=broker.slug,
                owner_email=broker.owner_email,
                host=f"{broker.slug}.{_domain()}:{port}",
            )
    finally:
        connection.close()  # this thread's own connection
    seconds = time.perf_counter() - started
    return f"broker {broker.slug}: {report.summary()} ({seconds:.1f} s)"


@dataclass(frozen=True)
class Pending:
    """A broker being provisioned: its tenant, its attempts before, when we asked."""

    tenant: Any
    attempts: int
    started: float


def _request(broker: DemoBroker) -> Pending | None:
    """Ask for ``broker``; None if it is already active."""
    from brokerdesk.platform.provisioning.services import tenant_request
    from brokerdesk.platform.tasks import provision_tenant
    from brokerdesk.tenants.models import TenantStatus

    result = tenant_request(
        slug=broker.slug,
        name=broker.name,
        owner_email=broker.owner_email,
        branding=broker.branding,
        actor="demo",
        enqueue=True,
    )
    tenant = result.tenant
    if result.created:
        say(f"broker {broker.slug}: requested, provisioning on the worker")
    elif tenant.status == TenantStatus.ACTIVE:
        say(f"broker {broker.slug}: exists ({tenant.status})")
        return None
    else:
        # Redis keeps no queue across restarts, so a broker left half-way needs a new task.
        say(f"broker {broker.slug}: exists ({tenant.status}), provisioning it again")
        provision_tenant.delay(tenant.pk)
    return Pending(tenant, tenant.attempts, time.perf_counter())


def _await_active(stack: DevStack, pending: Pending) -> None:
    """Poll until the tenant is active; fail on a new failed attempt, a dead worker, a timeout."""
    from brokerdesk.tenants.models import TenantStatus

    tenant = pending.tenant
    deadline = time.monotonic() + PROVISION_TIMEOUT_S
    while True:
        tenant.refresh_from_db()
        if tenant.status == TenantStatus.ACTIVE:
            seconds = time.perf_counter() - pending.started
            say(f"broker {tenant.slug}: provisioned (active after {seconds:.1f} s)")
            return
        if tenant.status == TenantStatus.FAILED and tenant.attempts > pending.attempts:
            raise DemoError(f"broker {tenant.slug}: provisioning failed: {tenant.error}")
        stack.check_alive("worker")
        if time.monotonic() > deadline:
            raise DemoError(
                f"broker {tenant.slug} is still {tenant.status} after "
                f"{PROVISION_TIMEOUT_S:.0f} s{stack.log_tail('worker')}"
            )
        time.sleep(0.05)


def _owner_login(broker: DemoBroker) -> None:
    """Give the owner the demo password (hashing only when it differs: sessions survive)."""
    from brokerdesk.modules.identity.models import User
    from brokerdesk.modules.identity.services import super_admin_ensure
    from brokerdesk.tenants.models import Tenant
    from brokerdesk.tenants.schemas import tenant_context

    tenant = Tenant.objects.get(slug=broker.slug)
    with tenant_context(tenant):
        owner = User.objects.filter(email=broker.owner_email).first()
        owner = owner or super_admin_ensure(email=broker.owner_email)
        _demo_password(owner)
        for kind, full_name in (("client", "Chris Client"), ("ib", "Ivy Introducer")):
            user = User.objects.filter(email=_demo_email(kind, broker)).first()
            user = user or User.objects.create_user(
                _demo_email(kind, broker), DEMO_PASSWORD, kind=kind, full_name=full_name
            )
            _demo_password(user)


def _demo_email(kind: str, broker: DemoBroker) -> str:
    return f"{kind}@{broker.slug}.example"


def _demo_password(user: Any) -> None:
    """Hash only when the password differs, so existing sessions survive a restart."""
    if not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])


DEMO_OPERATOR = "operator@brokerdesk.example"


def _operator_login() -> None:
    """A platform operator for the console; the second factor is enrolled at first sign-in."""
    from brokerdesk.modules.identity.models import User
    from brokerdesk.platform.console.operators import operator_create

    user = User.objects.filter(email=DEMO_OPERATOR).first()
    if user is None:
        operator_create(email=DEMO_OPERATOR, password=DEMO_PASSWORD)
        say(f"operator: {DEMO_OPERATOR} created")
    elif not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])


def _print_urls(stack: DevStack, port: int) -> None:
    """The addresses and logins, for a human."""
    say(f"  platform        http://{_domain()}:{port}/")
    say(f"  {'':<15} http://{_domain()}:{port}/console/  (operator console)")
    say(
        f"  {'':<15} login: {DEMO_OPERATOR} / {DEMO_PASSWORD}, then a TOTP code (enrol at first sign-in)"
    )
    for broker in BROKERS:
        base = f"http://{broker.slug}.{_domain()}:{port}"
        say(f"  {broker.name:<15} {base}/  (Trader's Room)")
        say(f"  {'':<15} {base}/backoffice/  (Back Office)")
        say(f"  {'':<15} {base}/partners/  (Partner portal)")
        say(f"  {'':<15} logins (password {DEMO_PASSWORD}): {broker.owner_email} (Back Office),")
        say(
            f"  {'':<15}   {_demo_email('client', broker)} (Trader's Room), {_demo_email('ib', broker)} (Partner portal)"
        )
        staff = ", ".join(
            f"{demo_data.staff_email(spec.key, broker.slug)} ({spec.role})"
            for spec in demo_data.STAFF
        )
        say(f"  {'':<15}   staff (Back Office, TOTP enrolled at first sign-in): {staff}")
        say(f"  {'':<15}   leads: *@{broker.slug}-leads.example (same password)")
    say(
        "  deposits        sandbox PSP test cards: 4242 4242 4242 4242 (approved), "
        "4000 0000 0000 0002 (declined) … (docs/psp-sandbox.md)"
    )
    say(f"  logs            {stack.log_dir}/")


def _get(port: int, host: str, path: str) -> tuple[int, str]:
    """GET ``path`` from 127.0.0.1:<port> as ``host`` (*.localhost does not resolve in Python)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": f"{host}:{port}"})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    except OSError:
        return 0, ""
    finally:
        conn.close()


def _smoke(port: int, simulators: list[Simulator]) -> int:
    """Every face shows its broker's name and colour; the platform answers; strangers get 404;
    every simulator answers the MT5 handshake; a demo Sales user sees their routed leads."""
    domain = _domain()
    checks: list[tuple[str, str, int, tuple[str, ...]]] = [(domain, "/", 200, ())]
    for broker in BROKERS:
        expected = (broker.name, broker.branding["primary_color"])
        checks += [(f"{broker.slug}.{domain}", path, 200, expected) for path, _ in FACES]
    checks.append((f"nobody.{domain}", "/", 404, ()))
    failures = [problem for check in checks if (problem := _check(port, *check))]
    for sim in simulators:
        if problem := _handshake(sim):
            failures.append(f"mt5-sim {sim.name} on {sim.address}: no handshake: {problem}")
        else:
            say(f"smoke: mt5-sim {sim.name} on {sim.address} -> handshake ok")
    for broker in BROKERS:
        if problem := _sales_sees_leads(port, broker):
            failures.append(problem)
    total = len(checks) + len(simulators) + len(BROKERS)
    if failures:
        say(f"smoke: FAILED {len(failures)} of {total} checks:")
        for problem in failures:
            say(f"  {problem}")
        return 1
    say(f"smoke: {total} checks passed")
    return 0


def _sales_sees_leads(port: int, broker: DemoBroker) -> str | None:
    """Sign in to the Back Office as the first demo Sales user (password, then the second
    factor enrolled on the way) and read the lead list: their routed leads, only theirs.
    Afterwards the second factor is reset (audited), so a human enrols their own."""
    email = demo_data.staff_email("sales1", broker.slug)
    browser = _Browser(port, f"{broker.slug}.{_domain()}")
    try:
        page = browser.login("/backoffice/login/", email, DEMO_PASSWORD)
        if "totp-secret" not in page:
            return f"{broker.slug}: {email} signed in but no second-factor enrolment page"
        browser.second_factor(page)
        status, leads = browser.get("/backoffice/clients/leads/")
    finally:
        _second_factor_reset(broker, email)
    rows = leads.count('data-testid="client-row"')
    owners = re.findall(r'<td data-testid="owner">(.*?)</td>', leads)
    if status != 200 or rows == 0:
        return f"{broker.slug}: {email} sees no leads at /backoffice/clients/leads/ ({status})"
    if set(owners) != {"Sam Seller"}:
        return f"{broker.slug}: {email} sees leads of other owners: {sorted(set(owners))}"
    say(f"smoke: {email} signs in and sees {rows} routed leads, all theirs -> ok")
    return None


def _second_factor_reset(broker: DemoBroker, email: str) -> None:
    from django.db import connection

    from brokerdesk.modules.identity.models import User
    from brokerdesk.modules.identity.recovery import staff_second_factor_reset
    from brokerdesk.modules.identity.totp import totp_enrolled
    from brokerdesk.tenants.models import Tenant
    from brokerdesk.tenants.schemas import tenant_context

    with tenant_context(Tenant.objects.get(slug=broker.slug)):
        staff = User.objects.get(email=email)
        if totp_enrolled(staff):
            staff_second_factor_reset(
                actor=User.objects.get(email=broker.owner_email),
                staff=staff,
                reason="demo smoke check signed in as this user; enrol at the next sign-in",
            )
    connection.close()


class _Browser:
    """Just enough of a browser for the smoke check: cookies, CSRF tokens, redirects."""

    def __init__(self, port: int, host: str) -> None:
        self.port, self.host = port, host
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        headers = {"Host": f"{self.host}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key.strip()] = rest.split(";", 1)[0]
            return response.status, response.getheader("Location", ""), response.read().decode()
        finally:
            conn.close()

    def get(self, path: str) -> tuple[int, str]:
        """GET, following redirects on this host."""
        for _ in range(5):
            status, location, body = self.request("GET", path)
            if status not in (301, 302, 303) or not location:
                return status, body
            path = urllib.parse.urlsplit(location)._replace(scheme="", netloc="").geturl()
        return status, body

    def post(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        status, location, body = self.request("POST", path, form)
        if status in (301, 302, 303) and location:
            return self.get(urllib.parse.urlsplit(location)._replace(scheme="", netloc="").geturl())
        return status, body

    def login(self, path: str, email: str, password: str) -> str:
        self.get(path)
        return self.post(path, {"username": email, "password": password})[1]

    def second_factor(self, page: str) -> str:
        import pyotp

        from brokerdesk.modules.identity.totp import TOTP_INTERVAL_S

        secret = re.search(r'data-testid="totp-secret"[^>]*>([A-Z2-7=]+)<', page)
        if secret is None:
            return page
        code = pyotp.TOTP(secret.group(1), interval=TOTP_INTERVAL_S).now()
        return self.post("/backoffice/otp/", {"code": code})[1]


def _check(port: int, host: str, path: str, status: int, texts: tuple[str, ...]) -> str | None:
    """One smoke check: None if it passes, else what went wrong."""
    got, body = _get(port, host, path)
    url = f"http://{host}:{port}{path}"
    if got != status:
        return f"GET {url}: expected {status}, got {got or 'no answer'}"
    if missing := [text for text in texts if text not in body]:
        return f"GET {url}: {status} but {missing} not in the page"
    say(f"smoke: GET {url} -> {got} ok")
    return None


def _serve(stack: DevStack, simulators: list[str]) -> int:
    """Block until a signal (Interrupted) or until a child dies (exit 1)."""
    while True:
        for name in ("web", "worker", *simulators):
            try:
                stack.check_alive(name)
            except ServiceError as exc:
                say(f"demo: {exc}")
                return 1
        time.sleep(0.5)


_MAIN_PID = os.getpid()


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    if os.getpid() != _MAIN_PID:
        # A process forked from here (migrate's pool) inherits the handler: it must just die.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise Interrupted(signal.Signals(signum).name)


@contextmanager
def _interruptible() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted, so start-up and serving unwind the same way."""
    global _MAIN_PID
    _MAIN_PID = os.getpid()
    previous = {
        sig: signal.signal(sig, _raise_interrupted) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _shutdown(stack: DevStack) -> None:
    """Stop every child this process started; further signals must not cut this short."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    _close_db()
    started = time.perf_counter()
    stopped = stack.stop()
    if stopped:
        say(f"stopped {', '.join(stopped)} in {time.perf_counter() - started:.1f} s")


def _close_db() -> None:
    """Close this process's connections before PostgreSQL goes (if Django got that far)."""
    from django.conf import settings

    if "django.db" in sys.modules and settings.configured:
        from django.db import connections

        connections.close_all()
