"""How and when flows run: deployment definitions, schedules and pools."""
