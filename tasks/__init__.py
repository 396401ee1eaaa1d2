"""Prefect tasks: thin wrappers that add cache policy, retries, breaker and fallback around domain calls."""
