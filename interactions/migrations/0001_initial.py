
import django.core.serializers.json
import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.db import migrations, models


MOVED = ("interaction", "idempotencyrecord")


def move_content_types(apps, schema_editor, source="tracking", target="interactions"):
    """Permissions and admin history follow the models: their content types change app, not id."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label=source, model__in=MOVED).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="interactions", target="tracking")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('tracking', '0005_interaction_created_at_settable'),
        ('accounts', '0001_initial'),
        ('campaigns', '0003_key_prefix_help'),
        ('incentives', '0004_code_import'),
    ]

    operations = [
        # The models move from the tracking app; their tables (tracking_interaction, tracking_idempotencyrecord) stay.
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='IdempotencyRecord',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('reference', models.CharField(max_length=100)),
                        ('request_fingerprint', models.CharField(help_text="SHA-256 of the request's meaningful fields.", max_length=64)),
                        ('http_status', models.PositiveSmallIntegerField(null=True)),
                        ('body', models.JSONField(encoder=django.core.serializers.json.DjangoJSONEncoder, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('integration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='campaigns.integration')),
                    ],
                    options={
                        'db_table': 'tracking_idempotencyrecord',
                        'indexes': [models.Index(fields=['created_at'], name='tracking_id_created_763fec_idx')],
                        'constraints': [models.UniqueConstraint(models.F('integration'), models.F('reference'), name='idempotency_reference_unique_per_integration')],
                    },
                ),
                migrations.CreateModel(
                    name='Interaction',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('award', 'Award'), ('issuance', 'Issuance'), ('redemption', 'Redemption'), ('call', 'Call'), ('opt_in', 'Opt-in'), ('event', 'Event'), ('lookup', 'Lookup')], max_length=12)),
                        ('outcome', models.CharField(choices=[('success', 'Success'), ('out_of_stock', 'Out of stock'), ('error', 'Error'), ('exception', 'Exception')], max_length=12)),
                        ('error_code', models.CharField(blank=True, max_length=40)),
                        ('message', models.CharField(blank=True, max_length=500)),
                        ('redeemer_mobile', models.CharField(blank=True, max_length=32)),
                        ('redeemer_email', models.CharField(blank=True, max_length=254)),
                        ('redeemer_external_id', models.CharField(blank=True, max_length=200)),
                        ('http_status', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('latency_ms', models.PositiveIntegerField(blank=True, null=True)),
                        ('request_id', models.CharField(blank=True, max_length=100)),
                        ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ('campaign', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='interactions', to='campaigns.campaign')),
                        ('integration', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='interactions', to='campaigns.integration')),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.organization')),
                        ('voucher', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='incentives.voucher')),
                    ],
                    options={
                        'db_table': 'tracking_interaction',
                        'ordering': ['-created_at', '-pk'],
                        'indexes': [models.Index(fields=['campaign', 'created_at'], name='tracking_in_campaig_aa0847_idx'), models.Index(fields=['organization', 'created_at'], name='tracking_in_organiz_6b6293_idx'), models.Index(fields=['redeemer_mobile'], name='interaction_redeemer_mobile'), models.Index(django.db.models.functions.text.Upper('redeemer_email'), name='interaction_redeemer_email'), models.Index(fields=['redeemer_external_id'], name='interaction_redeemer_ext_id'), models.Index(condition=models.Q(('kind', 'award'), ('outcome', 'success'), ('voucher__isnull', False), models.Q(('redeemer_mobile', ''), _negated=True)), fields=['campaign', 'redeemer_mobile'], name='interaction_award_mobile'), models.Index(condition=models.Q(('kind', 'award'), ('outcome', 'success'), ('voucher__isnull', False), models.Q(('redeemer_email', ''), _negated=True)), fields=['campaign', 'redeemer_email'], name='interaction_award_email'), models.Index(condition=models.Q(('kind', 'award'), ('outcome', 'success'), ('voucher__isnull', False), models.Q(('redeemer_external_id', ''), _negated=True)), fields=['campaign', 'redeemer_external_id'], name='interaction_award_external_id')],
                    },
                ),
    
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back, elidable=True),
    ]
