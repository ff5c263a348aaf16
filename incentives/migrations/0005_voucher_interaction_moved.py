
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('incentives', '0004_code_import'),
        ('interactions', '0001_initial'),
    ]

    operations = [
        # Interaction moved to the interactions app; the foreign key's table and constraint are unchanged.
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='voucher',
                    name='interaction',
                    field=models.ForeignKey(blank=True, help_text='The interaction that awarded it.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='interactions.interaction'),
                ),
    
            ],
        ),
    ]
