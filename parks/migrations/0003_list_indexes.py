"""An index of the parks' names: lists of measures sorted by park walk the parks in this order (issue 17)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("parks", "0002_search_text")]

    operations = [migrations.AddIndex(model_name="park", index=models.Index(fields=["name_vi"], name="park_name_vi"))]
