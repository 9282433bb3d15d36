from django.db import migrations

PLANS = [
    ("starter", "Starter", 49_900, "USD"),
    ("growth", "Growth", 149_900, "USD"),
    ("enterprise", "Enterprise", 399_900, "USD"),
]


def create_plans(apps, schema_editor):
    if schema_editor.connection.schema_name != "public":
        return
    Plan = apps.get_model("platform", "Plan")
    for code, name, price, currency in PLANS:
        Plan.objects.get_or_create(
            code=code,
            defaults={"name": name, "monthly_price_minor": price, "currency": currency},
        )


class Migration(migrations.Migration):
    dependencies = [("platform", "0002_initial")]
    operations = [migrations.RunPython(create_plans, migrations.RunPython.noop)]
