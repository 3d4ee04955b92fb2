"""Shared test settings: a hypothesis profile for CI that is derandomised, so CI is repeatable."""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
