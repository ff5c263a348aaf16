import django.core.serializers.json
from django.db import migrations, models


def _result(body: dict) -> dict:
    """A kept answer (``{"status": "ok", <entity>: {...}}``) as the domain result the API renders it from."""
    if "award" in body:
        return body["award"]
    event = body.get("issuance") or body["redemption"]
    return {
        "id": event["id"], "code": event["incentive_code"]["code"], "pool_id": event["incentive_pool"]["id"],
        **{name: event[name] for name in ("external_issuee_id", "issuee_id", "referring_application",
                                          "referring_application_ref_id", "created_at", "updated_at")},
    }


EVENT = "coalesce(body->'issuance', body->'redemption')"
RESULTS_SQL = f"""
UPDATE tracking_idempotencyrecord SET body = CASE WHEN body ? 'award' THEN body->'award' ELSE jsonb_build_object(
    'id', {EVENT}->'id', 'code', {EVENT}->'incentive_code'->'code', 'pool_id', {EVENT}->'incentive_pool'->'id',
    'external_issuee_id', {EVENT}->'external_issuee_id', 'issuee_id', {EVENT}->'issuee_id',
    'referring_application', {EVENT}->'referring_application',
    'referring_application_ref_id', {EVENT}->'referring_application_ref_id',
    'created_at', {EVENT}->'created_at', 'updated_at', {EVENT}->'updated_at') END
WHERE body->>'status' = 'ok'
"""


def keep_results(apps, schema_editor):
    """Records kept before this change held whole answers; they now hold results, which replay the same bytes.
    One UPDATE on PostgreSQL; row by row elsewhere (SQLite under ``make run``, a development database)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(RESULTS_SQL)
        return
    records = apps.get_model("interactions", "IdempotencyRecord").objects
    for record in records.filter(body__status="ok").only("pk", "body").iterator():
        records.filter(pk=record.pk).update(body=_result(record.body))


class Migration(migrations.Migration):

    dependencies = [
        ('interactions', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(keep_results, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='idempotencyrecord',
            name='http_status',
        ),
        migrations.AlterField(
            model_name='idempotencyrecord',
            name='body',
            field=models.JSONField(encoder=django.core.serializers.json.DjangoJSONEncoder, help_text="The first write's domain result.", null=True),
        ),
    ]
