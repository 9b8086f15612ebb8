"""Imports every module that declares tables, so the metadata is complete."""

from core.storage import faq, models, reminder_models  # noqa: F401
