"""On PostgreSQL, a trigram index of the enterprises' folded search text: the measures page looks up the enterprises
a search word names before it reads the measures (issue 17)."""

from django.db import migrations

from ecopark.db_indexes import trigram_index


class Migration(migrations.Migration):
    dependencies = [("enterprises", "0002_search_text")]

    operations = [trigram_index("enterprises_enterprise", "search_text", "enterprise_search_trgm")]
