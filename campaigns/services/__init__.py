"""Campaign rules that touch the database: statuses, integrations and their keys, campaigns themselves."""
