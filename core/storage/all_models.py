"""Imports every module that declares tables, so the metadata is complete."""

from core.storage import models, reminder_models  # noqa: F401

try:
    from core.storage import faq  # noqa: F401
except ImportError:  # the FAQ tables arrive with bot/faq; remove once they have landed
    pass
