
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('incentives', '0005_voucher_interaction_moved'),
        ('tracking', '0005_interaction_created_at_settable'),
    ]

    operations = [
        # Interaction and IdempotencyRecord moved to the interactions app, tables and rows included.
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name='interaction',
                    name='campaign',
                ),
                migrations.RemoveField(
                    model_name='interaction',
                    name='integration',
                ),
                migrations.RemoveField(
                    model_name='interaction',
                    name='organization',
                ),
                migrations.RemoveField(
                    model_name='interaction',
                    name='voucher',
                ),
                migrations.DeleteModel(
                    name='IdempotencyRecord',
                ),
                migrations.DeleteModel(
                    name='Interaction',
                ),
    
            ],
        ),
    ]
