import django.db.models.deletion
from django.db import migrations, models

# The unique indexes a hot read finds its rows by (engagement.services.hot): on PostgreSQL each also carries the
# columns that read takes, so it answers from the index alone (an index-only scan), a page read less on a table
# too large to stay in shared buffers. The constraints are the same; SQLite has no covering index.
COVERING = {
    "customer_external_id_unique_in_org": ("engagement_customer", "organization_id, external_id", "id, email, mobile"),
    # What a progress read answers from; an event reads the whole row, which it locks anyway.
    "participation_unique": (
        "engagement_participation", "campaign_id, customer_id, is_test", "id, opted_in, state, instance_state"
    ),
}


def _rebuild(schema_editor, covering: bool) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for index, (table, key, included) in COVERING.items():
        schema_editor.execute(f"DROP INDEX {index}")
        include = f" INCLUDE ({included})" if covering else ""
        schema_editor.execute(f"CREATE UNIQUE INDEX {index} ON {table} ({key}){include}")


def covering(apps, schema_editor):
    _rebuild(schema_editor, covering=True)


def plain(apps, schema_editor):
    _rebuild(schema_editor, covering=False)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('engagement', '0004_no_index_a_prefix_covers'),
    ]

    operations = [
        migrations.AlterField(
            model_name='customer',
            name='organization',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='customers', to='accounts.organization'),
        ),
        migrations.RunPython(covering, plain),
    ]
