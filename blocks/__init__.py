"""Prefect blocks: the configuration a user edits in the Prefect UI."""
