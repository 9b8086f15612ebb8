"""What graduates and operators type: ID numbers, credit codes, phones, names, salaries."""

from datetime import date

import pytest

from core.domain import validators as v
from core.domain.errors import CreditCodeInvalid, InvalidInput
from core.domain.otp import looks_like_code
from core.domain.states import EducationLevel
from tests.core.conftest import credit_code, id_number

VALID_ID = "11010519491231002X"  # the textbook example: check character X


def test_a_valid_id_number_is_accepted_and_upper_cased():
    assert v.validate_id_number(VALID_ID) == VALID_ID
    assert v.validate_id_number(VALID_ID.lower()) == VALID_ID
    assert v.validate_id_number(" 110105 1949 1231 002X ") == VALID_ID


def test_generated_id_numbers_pass_the_check():
    for serial in range(30):
        value = id_number(serial)
        assert v.validate_id_number(value) == value


def test_a_full_width_id_number_is_normalised():
    full = "".join(chr(ord(c) + 0xFEE0) for c in VALID_ID)  # １１０…Ｘ
    assert full != VALID_ID
    assert v.validate_id_number(full) == VALID_ID
    assert v.validate_id_number(full[:-1] + "ｘ") == VALID_ID


def test_a_wrong_check_character_is_refused_with_a_hint():
    with pytest.raises(InvalidInput, match="校验位") as caught:
        v.validate_id_number(VALID_ID[:-1] + "1")
    assert caught.value.field == "id_number"


@pytest.mark.parametrize("birth", ["20040230", "20041301", "20040000", "18990101", "21010101"])
def test_an_impossible_birth_date_is_refused(birth):
    first17 = f"110105{birth}001"
    value = first17 + v.id_check_char(first17)
    with pytest.raises(InvalidInput, match="出生日期"):
        v.validate_id_number(value)


@pytest.mark.parametrize(
    "raw",
    ["11010519491231002", "11010519491231002XX", "1101051949123100ZX", "X10105194912310021", ""],
)
def test_a_malformed_id_number_is_refused(raw):
    with pytest.raises(InvalidInput, match="18 位"):
        v.validate_id_number(raw)


def test_an_id_number_is_masked_to_first_three_and_last_four():
    assert v.mask_id_number(VALID_ID) == "110***********002X"


def test_a_valid_credit_code_is_accepted():
    code = credit_code("91110108MA01ABCD0")
    assert v.validate_credit_code(code.lower()) == code
    assert v.validate_credit_code("91350100M000100Y43") == "91350100M000100Y43"


def test_a_full_width_credit_code_is_normalised():
    code = credit_code("91110108MA01ABCD0")
    full = "".join(chr(ord(c) + 0xFEE0) for c in code)
    assert v.validate_credit_code(full) == code


def test_a_credit_code_with_a_wrong_check_is_refused():
    code = credit_code("91110108MA01ABCD0")
    wrong = code[:-1] + ("1" if code[-1] != "1" else "2")
    with pytest.raises(CreditCodeInvalid) as caught:
        v.validate_credit_code(wrong)
    assert caught.value.code == "employer.credit_code_invalid"
    assert v.validate_credit_code(wrong, allow_bad_check=True) == wrong


@pytest.mark.parametrize("letter", ["I", "O", "S", "V", "Z"])
def test_credit_codes_never_contain_i_o_s_v_z(letter):
    with pytest.raises(InvalidInput, match="不含 I、O、S、V、Z"):
        v.validate_credit_code(f"91110108MA01ABC{letter}00", allow_bad_check=True)


def test_a_short_credit_code_is_refused():
    with pytest.raises(InvalidInput, match="18 位"):
        v.validate_credit_code("91110108MA01ABCD")


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "0086 13800138000",
        "8613800138000",
        "138-0013-8000",
        "１３８００１３８０００",
        "（+86）138 0013 8000",
    ],
)
def test_mobile_numbers_are_accepted_in_common_spellings(raw):
    assert v.validate_phone(raw) == "13800138000"


@pytest.mark.parametrize(
    "raw", ["138001380001", "1380013800", "12800138000", "10800138000", "23800138000", "abc", ""]
)
def test_wrong_mobile_numbers_are_refused(raw):
    with pytest.raises(InvalidInput, match="11 位") as caught:
        v.validate_phone(raw)
    assert caught.value.field == "phone"


def test_a_phone_is_masked_in_the_middle():
    assert v.mask_phone("13800138000") == "138****8000"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("张三", "张三"),
        ("  欧阳  娜娜 ", "欧阳 娜娜"),
        ("Ｌｉ Ｌｅｉ", "Li Lei"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
    ],
)
def test_names_are_normalised(raw, expected):
    assert v.validate_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["张", "张三3", "<b>张三</b>", "x" * 31, "   ", "张😀三", "张\x01三", "张\u202e三", "··"],
)
def test_bad_names_are_refused(raw):
    with pytest.raises(InvalidInput, match="姓名"):
        v.validate_name(raw)


@pytest.mark.parametrize(
    ("raw", "yuan"),
    [
        ("8000", 8000),
        ("8k", 8000),
        ("8K", 8000),
        ("8千", 8000),
        ("1.2万", 12000),
        ("1.5w", 15000),
        ("8,000元", 8000),
        ("８０００", 8000),
        ("12000元/月", 12000),
    ],
)
def test_salaries_are_read_in_common_spellings(raw, yuan):
    assert v.validate_salary(raw) == yuan


@pytest.mark.parametrize("raw", ["", "abc", "-5", "0", "200万", "面议", "nan", "inf"])
def test_unreadable_or_absurd_salaries_are_refused(raw):
    with pytest.raises(InvalidInput, match="月薪"):
        v.validate_salary(raw)


def test_a_salary_with_too_many_digits_is_called_out_of_range_not_unreadable():
    with pytest.raises(InvalidInput, match="1 到 1,000,000"):
        v.validate_salary("99999999999999999999")


def test_an_id_number_born_after_today_is_refused():
    future = id_number(1, birth="20300101")
    assert v.validate_id_number(future) == future  # a real date on its own
    with pytest.raises(InvalidInput, match="晚于今天"):
        v.validate_id_number(future, today=date(2026, 12, 4))


@pytest.mark.parametrize("raw", ["99999999999999999999", "北京\x1b[31m", "---"])
def test_short_texts_must_be_words_without_control_characters(raw):
    with pytest.raises(InvalidInput):
        v.validate_short_text(raw, field="city", label="城市")


def test_free_text_keeps_full_width_punctuation_and_refuses_control_characters():
    assert (
        v.clean_free_text(
            " 违约金太高了，希望降到3000。 ", field="x", label="修改意见", max_len=100
        )
        == "违约金太高了，希望降到3000。"
    )
    with pytest.raises(InvalidInput, match="控制字符"):
        v.clean_free_text("违约金\x07降低\x1b[31m", field="x", label="修改意见", max_len=100)


def test_education_level_aliases_map_to_the_four_levels():
    assert v.validate_education_level("大专") is EducationLevel.JUNIOR_COLLEGE
    assert v.validate_education_level("本科") is EducationLevel.BACHELOR
    assert v.validate_education_level("硕士") is EducationLevel.MASTER
    assert v.validate_education_level("博士研究生") is EducationLevel.DOCTOR
    with pytest.raises(InvalidInput, match="学历层次"):
        v.validate_education_level("高中")


def test_graduation_year_accepts_a_near_year_only():
    today = date(2026, 6, 1)
    assert v.validate_graduation_year("2026届", today=today) == 2026
    assert v.validate_graduation_year("２０２７年", today=today) == 2027
    for raw in ("2019", "26", "二〇二六"):
        with pytest.raises(InvalidInput, match="毕业年份"):
            v.validate_graduation_year(raw, today=today)


def test_lists_split_on_chinese_and_western_separators():
    assert v.split_list("北京、上海，深圳 杭州", field="cities", label="城市") == (
        "北京",
        "上海",
        "深圳",
        "杭州",
    )
    with pytest.raises(InvalidInput, match="最多"):
        v.split_list("a b c d e f", field="cities", label="城市")


def test_a_typed_code_is_read_from_spaced_or_full_width_digits():
    assert looks_like_code("１２３ ４５６") == "123456"
    assert looks_like_code("123-456") == "123456"
    assert looks_like_code("12345") is None
    assert looks_like_code("abcdef") is None
