"""Agreement terms, their canonical text and the digest a signature binds."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import asdict, dataclass, fields

from core.domain.errors import InvalidInput

# Service periods and penalties above these are shown to the graduate with a warning.
HIGH_PENALTY_YUAN = 5000
LONG_SERVICE_YEARS = 3
MAX_PROBATION_MONTHS = 6


@dataclass(frozen=True, slots=True)
class Terms:
    position: str
    city: str
    salary_yuan: int
    probation_months: int
    service_years: int
    penalty_yuan: int
    insurance: bool = True
    insurance_notes: str = ""
    other_clauses: str = ""

    def __post_init__(self) -> None:
        for name, label in (("position", "岗位"), ("city", "工作地点")):
            value = getattr(self, name)
            if not value or not value.strip() or len(value) > 100:
                raise InvalidInput(f"{label}不能为空，最多 100 个字。", field=name)
        if not 0 < self.salary_yuan <= 1_000_000:
            raise InvalidInput("月薪应在 1 到 1,000,000 元之间。", field="salary_yuan")
        if not 0 <= self.probation_months <= 12:
            raise InvalidInput("试用期应在 0 到 12 个月之间。", field="probation_months")
        if not 0 <= self.service_years <= 20:
            raise InvalidInput("服务期限应在 0 到 20 年之间。", field="service_years")
        if not 0 <= self.penalty_yuan <= 10_000_000:
            raise InvalidInput("违约金应在 0 到 10,000,000 元之间。", field="penalty_yuan")
        if len(self.insurance_notes) > 500 or len(self.other_clauses) > 4000:
            raise InvalidInput(
                "五险一金说明最多 500 字，其他条款最多 4000 字。", field="other_clauses"
            )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Terms:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})  # type: ignore[arg-type]

    def warnings(self) -> tuple[str, ...]:
        """Plain-language warnings about terms that often hurt graduates."""
        notes = []
        if self.penalty_yuan > HIGH_PENALTY_YUAN:
            notes.append(f"违约金 {self.penalty_yuan:,} 元偏高，签前可以和单位协商，或咨询学校。")
        if self.service_years > LONG_SERVICE_YEARS:
            notes.append(f"服务期 {self.service_years} 年偏长，提前离开可能要付违约金。")
        if self.probation_months > MAX_PROBATION_MONTHS:
            notes.append(f"试用期 {self.probation_months} 个月超过法定上限 6 个月。")
        if not self.insurance:
            notes.append("单位未承诺缴纳五险一金，请务必问清楚。")
        return tuple(notes)


def canonical_text(document: dict[str, object]) -> str:
    """One serialisation for one agreement text: sorted keys, NFC strings, no spaces."""

    def fold(value: object) -> object:
        if isinstance(value, str):
            return unicodedata.normalize("NFC", value)
        if isinstance(value, dict):
            return {str(k): fold(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [fold(v) for v in value]
        return value

    return json.dumps(fold(document), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def agreement_document(
    *,
    agreement_id: int,
    version: int,
    terms: Terms,
    employer: dict[str, str],
    graduate: dict[str, str],
    university: str,
) -> dict[str, object]:
    """The whole text a signature confirms: parties, version and terms."""
    return {
        "agreement_id": agreement_id,
        "version": version,
        "employer": employer,
        "graduate": graduate,
        "university": university,
        "terms": terms.to_dict(),
    }


def digest(document: dict[str, object]) -> str:
    return hashlib.sha256(canonical_text(document).encode("utf-8")).hexdigest()
