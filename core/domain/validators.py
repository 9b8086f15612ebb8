"""Validation and normalisation of what graduates and operators type.

Every validator returns the normalised value or raises ``InvalidInput`` with a Chinese message
that says what a valid value looks like.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from core.domain.errors import CreditCodeInvalid, InvalidInput
from core.domain.states import EducationLevel

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

PHONE_RE = re.compile(r"1[3-9]\d{9}")
STUDENT_NO_RE = re.compile(r"[0-9A-Za-z]{4,20}")
SEPARATORS = re.compile(r"[\s\-‐‑–—()（）]")
SALARY_TAIL = re.compile(r"(元|/月|每月|per month|/month)+$")
SALARY_NUMBER = re.compile(r"\d{1,9}(\.\d{1,4})?")
SALARY_DIGITS = re.compile(r"\d+(\.\d+)?")
# Names on ID cards: Chinese characters, Latin letters (minority and foreign names), the
# middle dot of transliterated names, and single spaces.
NAME_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaffA-Za-z·・ .'-]+")


def normalise(text: str) -> str:
    """Fold full-width letters and digits to ASCII and trim surrounding space."""
    return unicodedata.normalize("NFKC", text).strip()


def has_control(text: str, *, allow_newlines: bool = False) -> bool:
    """True when the text carries control or format characters (escape codes, NUL, RTL marks)."""
    allowed = "\n\t" if allow_newlines else ""
    return any(unicodedata.category(c) in ("Cc", "Cf") and c not in allowed for c in text)


def clean_free_text(raw: str, *, field: str, label: str, max_len: int) -> str:
    """Text a person wrote for another person to read (a change request, a reason).

    Kept as written (full-width punctuation included); only trimmed. Raises InvalidInput when
    empty, too long, or carrying control characters.
    """
    value = raw.strip()
    if not value:
        raise InvalidInput(f"{label}不能为空。", field=field)
    if len(value) > max_len:
        raise InvalidInput(f"{label}最多 {max_len} 字，请精简一些。", field=field)
    if has_control(value, allow_newlines=True):
        raise InvalidInput(f"{label}里有无法显示的控制字符，请重新输入。", field=field)
    return value


def id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def validate_id_number(raw: str, *, today: date | None = None) -> str:
    """Return the 18-character resident ID number, upper-cased.

    Raises InvalidInput when the shape, the birth date (a real date, not after ``today``) or
    the check character is wrong.
    """
    value = SEPARATORS.sub("", normalise(raw)).upper()
    if (
        len(value) != 18
        or not value[:17].isdigit()
        or not (value[17].isdigit() or value[17] == "X")
    ):
        raise InvalidInput(
            "身份证号应为 18 位：前 17 位是数字，最后一位是数字或 X。", field="id_number"
        )
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidInput(
            "身份证号里的出生日期（第 7–14 位）不是有效日期。", field="id_number"
        ) from None
    if born.year < 1900 or born > date(2100, 1, 1):
        raise InvalidInput("身份证号里的出生日期（第 7–14 位）不是有效日期。", field="id_number")
    if today is not None and born > today:
        raise InvalidInput(
            "身份证号里的出生日期（第 7–14 位）晚于今天，请核对。", field="id_number"
        )
    if id_check_char(value[:17]) != value[17]:
        raise InvalidInput("身份证号校验位不对，请逐位核对后重新输入。", field="id_number")
    return value


def mask_id_number(value: str) -> str:
    """Show the first 3 and last 4 characters only."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def credit_check_char(first17: str) -> str:
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    check = 31 - total % 31
    return CREDIT_ALPHABET[0 if check == 31 else check]


def validate_credit_code(raw: str, *, allow_bad_check: bool = False) -> str:
    """Return the 18-character unified social credit code, upper-cased.

    Raises InvalidInput for a wrong length or alphabet, and CreditCodeInvalid for a failed
    check character unless ``allow_bad_check`` (an operator's recorded override) is set.
    """
    value = SEPARATORS.sub("", normalise(raw)).upper()
    if len(value) != 18 or any(c not in CREDIT_ALPHABET for c in value):
        raise InvalidInput(
            "统一社会信用代码应为 18 位，由数字和大写字母组成（不含 I、O、S、V、Z）。",
            field="credit_code",
        )
    if not allow_bad_check and credit_check_char(value[:17]) != value[17]:
        raise CreditCodeInvalid(field="credit_code")
    return value


def validate_phone(raw: str) -> str:
    """Return an 11-digit mainland mobile number; accepts +86, spaces and dashes."""
    value = SEPARATORS.sub("", normalise(raw))
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    elif value.startswith("86") and len(value) == 13:
        value = value[2:]
    if not PHONE_RE.fullmatch(value):
        raise InvalidInput("手机号应为 11 位，以 13–19 开头，例如 138 0013 8000。", field="phone")
    return value


def mask_phone(value: str) -> str:
    return value[:3] + "****" + value[-4:] if len(value) == 11 else "*" * len(value)


def validate_name(raw: str) -> str:
    value = normalise(raw)
    value = re.sub(r"\s+", " ", value)
    if not 2 <= len(value) <= 30:
        raise InvalidInput("姓名应为 2–30 个字，请与身份证上一致。", field="name")
    if not NAME_RE.fullmatch(value) or not any(c.isalpha() for c in value):
        raise InvalidInput("姓名里只能有汉字、字母或间隔号，请与身份证上一致。", field="name")
    return value


def validate_student_no(raw: str) -> str:
    value = SEPARATORS.sub("", normalise(raw)).upper()
    if not STUDENT_NO_RE.fullmatch(value):
        raise InvalidInput("学号应为 4–20 位数字或字母，例如 2026000001。", field="student_no")
    return value


def validate_short_text(raw: str, *, field: str, label: str, max_len: int = 50) -> str:
    value = re.sub(r"\s+", " ", normalise(raw))
    if not value:
        raise InvalidInput(f"{label}不能为空。", field=field)
    if len(value) > max_len:
        raise InvalidInput(f"{label}最多 {max_len} 个字。", field=field)
    if "<" in value or ">" in value:
        raise InvalidInput(f"{label}里不能有尖括号。", field=field)
    if has_control(value):
        raise InvalidInput(f"{label}里有无法显示的控制字符，请重新输入。", field=field)
    if not any(c.isalpha() for c in value):
        raise InvalidInput(f"{label}应当是文字，例如“北京”“计算机学院”。", field=field)
    return value


def validate_education_level(raw: str) -> EducationLevel:
    value = normalise(raw)
    aliases = {
        "专科": EducationLevel.JUNIOR_COLLEGE,
        "大专": EducationLevel.JUNIOR_COLLEGE,
        "高职": EducationLevel.JUNIOR_COLLEGE,
        "本科": EducationLevel.BACHELOR,
        "学士": EducationLevel.BACHELOR,
        "硕士": EducationLevel.MASTER,
        "硕士研究生": EducationLevel.MASTER,
        "研究生": EducationLevel.MASTER,
        "博士": EducationLevel.DOCTOR,
        "博士研究生": EducationLevel.DOCTOR,
    }
    if value not in aliases:
        raise InvalidInput(
            "学历层次请选：专科、本科、硕士研究生或博士研究生。", field="education_level"
        )
    return aliases[value]


def validate_graduation_year(raw: str, *, today: date) -> int:
    value = normalise(raw).removesuffix("年").removesuffix("届")
    if not value.isdigit() or len(value) != 4:
        raise InvalidInput("毕业年份请写 4 位数字，例如 2026。", field="graduation_year")
    year = int(value)
    if not today.year - 1 <= year <= today.year + 4:
        raise InvalidInput(
            f"毕业年份应在 {today.year - 1}–{today.year + 4} 之间。", field="graduation_year"
        )
    return year


def validate_salary(raw: str, *, field: str = "salary", label: str = "月薪") -> int:
    """Parse a monthly salary in yuan: '8000', '8k', '8千', '1.2万', '8,000元'."""
    value = normalise(raw).replace(",", "").replace("，", "").lower()
    value = SALARY_TAIL.sub("", value).strip()
    factor = 1
    for suffix, mult in (("k", 1000), ("千", 1000), ("w", 10000), ("万", 10000)):
        if value.endswith(suffix):
            value, factor = value[: -len(suffix)].strip(), mult
            break
    # A plain decimal only: float() would also take 'inf', 'nan' and '1e9'.
    if SALARY_DIGITS.fullmatch(value) and not SALARY_NUMBER.fullmatch(value):
        raise InvalidInput(f"{label}应在 1 到 1,000,000 元之间。", field=field)
    if not SALARY_NUMBER.fullmatch(value):
        raise InvalidInput(f"{label}请写数字（元），例如 8000 或 1.2万。", field=field)
    amount = round(float(value) * factor)
    if not 0 < amount <= 1_000_000:
        raise InvalidInput(f"{label}应在 1 到 1,000,000 元之间。", field=field)
    return amount


def split_list(raw: str, *, field: str, label: str, max_items: int = 5) -> tuple[str, ...]:
    """Split '北京、上海 深圳' into items; at most ``max_items``."""
    parts = [p for p in re.split(r"[\s,，、;；/]+", normalise(raw)) if p]
    if not parts:
        raise InvalidInput(f"请至少写一个{label}。", field=field)
    if len(parts) > max_items:
        raise InvalidInput(f"{label}最多写 {max_items} 个。", field=field)
    return tuple(validate_short_text(p, field=field, label=label, max_len=20) for p in parts)
