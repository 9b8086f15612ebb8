"""The catalogue's examples are inputs a graduate may copy: each one passes its own check."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.flows.registration import field_example
from core.domain import validators as v
from core.service import FIELD_LABELS

NOW = datetime.now(UTC)
TODAY = NOW.date()
CHECKS: dict[str, Callable[[str], object]] = {
    "name": v.validate_name,
    "id_number": lambda raw: v.validate_id_number(raw, today=TODAY),
    "phone": v.validate_phone,
    "student_no": v.validate_student_no,
    "faculty": lambda raw: v.validate_short_text(raw, field="faculty", label="院系"),
    "major": lambda raw: v.validate_short_text(raw, field="major", label="专业"),
    "graduation_year": lambda raw: v.validate_graduation_year(raw, today=TODAY),
    "industries": lambda raw: v.split_list(raw, field="industries", label="行业"),
    "cities": lambda raw: v.split_list(raw, field="cities", label="城市"),
    "expected_salary": v.validate_salary,
}
EXAMPLE = re.compile(r"例如：([^（。]+)")


@pytest.mark.parametrize("field", sorted(CHECKS))
def test_each_registration_example_passes_its_validator(field):
    match = EXAMPLE.search(field_example(field, NOW))
    assert match, f"{FIELD_LABELS[field]} has no example"

    CHECKS[field](match.group(1).strip())


def test_the_graduation_year_example_is_this_year():
    assert field_example("graduation_year", datetime(2031, 3, 1, tzinfo=UTC)) == "例如：2031"


def test_names_of_buttons_and_sections_are_quoted_one_way():
    from bot.texts import flows, notify

    for module in (flows, notify):
        for name, value in vars(module).items():
            texts = value.values() if isinstance(value, dict) else [value]
            for text in texts:
                if isinstance(text, str):
                    assert "“" not in text and "”" not in text, name
