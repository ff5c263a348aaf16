from django.db import migrations


def rename(apps, schema_editor, old="tracking:interaction-list", new="interactions:interaction-list"):
    """The interactions grid moved to the interactions app: its users' saved filters follow it."""
    apps.get_model("grids", "SavedFilter").objects.filter(grid=old).update(grid=new)


def rename_back(apps, schema_editor):
    rename(apps, schema_editor, old="interactions:interaction-list", new="tracking:interaction-list")


class Migration(migrations.Migration):
    dependencies = [("grids", "0001_saved_filter")]

    operations = [migrations.RunPython(rename, rename_back, elidable=True)]
