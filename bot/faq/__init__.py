"""FAQ self-service for graduates: answers from a knowledge base, honest when unsure.

Public API (what the bot uses)::

    engine = FaqEngine.load()            # once at start-up; default: the shipped KB
    result = engine.answer("违约金能谈吗")  # -> FaqAnswer
    result.outcome                       # Outcome.ANSWERED | AMBIGUOUS | UNKNOWN
    result.topic, result.alternatives    # Topic | None, tuple[Topic, ...] (buttons)
    result.answer_text                   # what to send
    engine.categories()                  # /faq menu: Category(id, title, topic_ids)
    engine.topics(category_id)           # topics of one category, or all
    engine.topic("breach.process")       # one Topic; KeyError if unknown

    service = FaqService(engine, SqlFeedbackStore(db_engine))
    await service.ask(text)              # answer + store an unanswered question, masked
    await service.feedback(topic_id, helpful=True)

Command line: ``python -m bot.faq ask [--json] [TEXT]`` and ``python -m bot.faq report``.
"""

from bot.faq.feedback import FeedbackStore, InMemoryFeedbackStore
from bot.faq.knowledge import KnowledgeError
from bot.faq.matcher import FaqEngine, MatchSettings
from bot.faq.model import Category, FaqAnswer, Outcome, Topic
from bot.faq.normalize import mask_digits
from bot.faq.service import FaqService, UnknownTopicError

__all__ = [
    "Category",
    "FaqAnswer",
    "FaqEngine",
    "FaqService",
    "FeedbackStore",
    "InMemoryFeedbackStore",
    "KnowledgeError",
    "MatchSettings",
    "Outcome",
    "Topic",
    "UnknownTopicError",
    "mask_digits",
]
