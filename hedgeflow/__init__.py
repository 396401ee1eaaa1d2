"""Hedgeflow: an open AI hedge fund run as Prefect flows.

This package is the domain: it never imports Prefect (a test enforces it).
"""

__version__ = "0.1.0"
