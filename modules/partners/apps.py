from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "brokerdesk.modules.partners"
    label = "partners"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from brokerdesk.modules.crm.models import ClientRecord
        from brokerdesk.modules.crm.routing import ib_manager_resolver_set
        from brokerdesk.modules.partners.referrals import ib_manager_of_code

        ib_manager_resolver_set(ib_manager_of_code)
        post_save.connect(_record_saved, sender=ClientRecord, dispatch_uid="partners.referral")


def _record_saved(sender, instance, created, **kwargs) -> None:  # noqa: ANN001
    """A client's CRM record with a referral code, or created in a request whose session
    carries referral touches: attribute them to the IB the attribution rule picks."""
    from brokerdesk.modules.partners.attribution import request_touches

    touches = bool(created and request_touches())
    if (getattr(instance, "referral_code", "") or touches) and instance.user_id:
        from brokerdesk.modules.partners.referrals import registration_attribute

        registration_attribute(instance, with_request_touches=created)
