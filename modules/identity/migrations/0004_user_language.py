from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("identity", "0003_user_manager")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="language",
            field=models.CharField(blank=True, default="", max_length=8),
        ),
    ]
