"""How the engine treats the ways graduates actually type, and its browse API."""

import re

import pytest

from bot.faq import FaqEngine, Outcome, mask_digits
from bot.faq.knowledge import KnowledgeError, parse_knowledge

DOMAIN_TOPICS = {
    "breach.process",
    "breach.consequences",
    "breach.penalty",
    "agreement_vs_contract",
    "signing.process",
    "signing.otp",
    "registration.howto",
    "registration.documents",
    "registration.review",
    "invitation.view",
    "invitation.negotiate",
    "invitation.decline",
    "invitation.deadline",
    "after.filing",
    "after.onboarding",
    "employer.verify",
    "terms.unfair",
    "terms.probation",
    "terms.service_period",
    "account.security",
    "human.contact",
}


@pytest.fixture(scope="module")
def engine() -> FaqEngine:
    return FaqEngine.load()


def test_every_domain_topic_is_in_the_shipped_knowledge(engine: FaqEngine) -> None:
    assert DOMAIN_TOPICS <= {topic.id for topic in engine.topics()}


def test_answers_fit_a_phone_screen_and_invent_no_phone_numbers(engine: FaqEngine) -> None:
    for topic in engine.topics():
        assert len(topic.answer) <= 600, topic.id
        numbers = set(re.findall(r"\d{5,}", topic.answer))
        assert numbers <= {"12333"}, topic.id


def test_the_report_card_is_described_as_abolished(engine: FaqEngine) -> None:
    answer = engine.topic("after.onboarding").answer
    assert "2023" in answer
    assert "不再" in answer


def test_termination_needs_the_employers_consent(engine: FaqEngine) -> None:
    answer = engine.topic("breach.process").answer
    assert "同意" in answer
    assert "学校" in answer


@pytest.mark.parametrize(
    ("question", "topic_id"),
    [
        ("违約金", "breach.penalty"),
        ("ＷＹＪ？", "breach.penalty"),
        ("为约金太高了", "breach.penalty"),
        ("三方协意和劳动合同", "agreement_vs_contract"),
        ("3方和劳动合同", "agreement_vs_contract"),
        ("sf和ldht区别", "agreement_vs_contract"),
        ("收不到code😭😭", "signing.otp"),
        ("試用期多長", "terms.probation"),
        ("/breach 怎么弄", "breach.process"),
    ],
)
def test_typed_variants_find_their_topic(engine: FaqEngine, question: str, topic_id: str) -> None:
    result = engine.answer(question)
    assert result.best_guess is not None
    assert result.best_guess.id == topic_id


def test_a_question_buried_in_a_long_message_is_found(engine: FaqEngine) -> None:
    message = (
        "老师您好，打扰了。我是计算机专业的应届生，上周在系统里签了一家公司，"
        "最近家里人希望我回老家考编，我想了很久还是决定不去了，请问现在解约应该怎么操作？"
    )
    result = engine.answer(message)
    assert result.outcome is not Outcome.UNKNOWN
    assert result.best_guess is not None
    assert result.best_guess.id == "breach.process"


@pytest.mark.parametrize("question", ["", "   ", "？？？", "🙂", "的"])
def test_empty_or_meaningless_input_is_not_answered(engine: FaqEngine, question: str) -> None:
    assert engine.answer(question).outcome is Outcome.UNKNOWN


@pytest.mark.parametrize("question", ["租房合同违约金怎么算", "火车票改签", "信用卡逾期后果"])
def test_penalties_of_other_contracts_are_out_of_scope(engine: FaqEngine, question: str) -> None:
    assert engine.answer(question).outcome is Outcome.UNKNOWN


def test_an_unknown_reply_is_honest_and_points_to_the_university(engine: FaqEngine) -> None:
    result = engine.answer("今天天气怎么样")
    assert result.outcome is Outcome.UNKNOWN
    assert result.topic is None
    assert result.alternatives == ()
    assert "答不了" in result.answer_text
    assert "就业指导中心" in result.answer_text


def test_an_ambiguous_question_offers_two_or_three_topics(engine: FaqEngine) -> None:
    result = engine.answer("合同")
    assert result.outcome is Outcome.AMBIGUOUS
    assert 2 <= len(result.alternatives) <= 3
    assert result.topic is None
    assert "你是不是想问" in result.answer_text
    for topic in result.alternatives:
        assert topic.title in result.answer_text


def test_categories_list_every_topic_once(engine: FaqEngine) -> None:
    listed = [t for category in engine.categories() for t in category.topic_ids]
    assert sorted(listed) == sorted(topic.id for topic in engine.topics())
    for category in engine.categories():
        assert category.topic_ids
        assert [t.id for t in engine.topics(category.id)] == list(category.topic_ids)


def test_related_topics_resolve(engine: FaqEngine) -> None:
    for topic in engine.topics():
        assert all(related.id != topic.id for related in engine.related(topic))


def test_an_unknown_topic_id_raises_key_error(engine: FaqEngine) -> None:
    with pytest.raises(KeyError):
        engine.topic("no.such.topic")


def test_masking_hides_every_digit() -> None:
    assert mask_digits("手机13812345678，学号２０２２") == "手机***********，学号****"


def test_a_knowledge_file_with_a_dangling_reference_is_refused() -> None:
    data = {
        "categories": [{"id": "c", "title": "C"}],
        "topics": [
            {
                "id": "a",
                "category": "c",
                "title": "A",
                "phrasings": ["甲"],
                "answer": "答",
                "related": ["missing"],
            }
        ],
    }
    with pytest.raises(KnowledgeError):
        parse_knowledge(data)


@pytest.mark.parametrize("text", ["簽約後反悔怎麼辦", "頭髮乾了", "违约金怎么算", "錄用通知書"])
def test_skipping_conversion_of_simplified_text_folds_like_opencc(text: str) -> None:
    from opencc import OpenCC

    from bot.faq.normalize import Normalizer

    assert Normalizer({})(text) == OpenCC("t2s").convert(text)
