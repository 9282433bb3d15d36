"""`brokerdesk tenant create|retry|list`: provision and inspect brokers from the shell."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from brokerdesk.platform.provisioning import services
from brokerdesk.tenants.models import Tenant, TenantStatus


class Command(BaseCommand):
    help = "Create (provision), retry or list tenants."
    # Provisioning is on the operator's critical path; `brokerdesk check` runs the checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="provision a broker and wait until it is active")
        create.add_argument("--slug", required=True)
        create.add_argument("--name", required=True)
        create.add_argument("--owner-email", required=True)
        create.add_argument("--plan", default=None)
        create.add_argument("--primary-color", default=None)
        create.add_argument("--accent-color", default=None)
        create.add_argument("--tagline", default=None)
        create.add_argument("--timeout", type=float, default=60.0)
        create.add_argument(
            "--inline", action="store_true", help="provision in this process, not on a worker"
        )
        create.add_argument("--no-wait", action="store_true")
        retry = sub.add_parser("retry", help="provision a broker that is not active again")
        retry.add_argument("--slug", required=True)
        retry.add_argument("--timeout", type=float, default=60.0)
        sub.add_parser("list", help="list brokers with their status")
        domain = sub.add_parser("add-domain", help="attach a custom domain to a broker")
        domain.add_argument("--slug", required=True)
        domain.add_argument("--domain", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self._create(options)
        elif action == "add-domain":
            try:
                added = services.tenant_domain_add(
                    slug=options["slug"], domain=options["domain"], actor="cli"
                )
            except ValidationError as exc:
                raise CommandError(_messages(exc)) from None
            self.stdout.write(f"{added.domain} now serves {options['slug']}")
        elif action == "retry":
            try:
                tenant = services.tenant_retry(slug=options["slug"], actor="cli")
            except ValidationError as exc:
                raise CommandError(_messages(exc)) from None
            self._finish(self._wait(tenant, options["timeout"]))
        else:
            for tenant in Tenant.objects.exclude(schema_name="public"):
                self.stdout.write(
                    f"{tenant.slug:<24} {tenant.status:<13} {services.tenant_url(tenant)}"
                )

    def _create(self, options: dict[str, Any]) -> None:
        branding = {
            key: options[key]
            for key in ("primary_color", "accent_color", "tagline")
            if options[key] is not None
        }
        try:
            result = services.tenant_request(
                slug=options["slug"],
                name=options["name"],
                owner_email=options["owner_email"],
                plan_code=options["plan"],
                branding=branding,
                actor="cli",
                enqueue=not options["inline"],
            )
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from None
        tenant = result.tenant
        if not result.created:
            self.stdout.write(f"tenant {tenant.slug} already exists: {tenant.status}")
            if tenant.status == TenantStatus.FAILED:
                self.stdout.write(f"  error: {tenant.error}")
                self.stdout.write(f"  retry with: brokerdesk tenant retry --slug {tenant.slug}")
            self._finish(tenant, quiet_failure=True)
            return
        if options["inline"]:
            try:
                tenant = services.tenant_provision(tenant_id=tenant.pk, actor="cli")
            except Exception:
                tenant.refresh_from_db()
        elif not options["no_wait"]:
            tenant = self._wait(tenant, options["timeout"])
        self._finish(tenant)

    def _wait(self, tenant: Tenant, timeout: float) -> Tenant:
        try:
            return services.tenant_wait_settled(tenant, timeout_s=timeout)
        except TimeoutError as exc:
            raise CommandError(f"{exc}: is a Celery worker running? (brokerdesk worker)") from exc

    def _finish(self, tenant: Tenant, *, quiet_failure: bool = False) -> None:
        if tenant.status == TenantStatus.ACTIVE:
            self.stdout.write(services.tenant_url(tenant))
        elif tenant.status == TenantStatus.FAILED and not quiet_failure:
            raise CommandError(f"tenant {tenant.slug} failed: {tenant.error}")
        elif tenant.status != TenantStatus.FAILED:
            self.stdout.write(f"tenant {tenant.slug} is {tenant.status}")


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)
