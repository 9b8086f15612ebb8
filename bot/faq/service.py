"""The FAQ as the bot's flows use it: answer, remember what it could not, count votes."""

import logging

from bot.faq.feedback import FeedbackStore
from bot.faq.matcher import FaqEngine
from bot.faq.model import FaqAnswer, Outcome
from bot.faq.normalize import mask_digits

logger = logging.getLogger(__name__)


class UnknownTopicError(KeyError):
    """A feedback button named a topic the knowledge base does not have (stale button)."""


class FaqService:
    """Wraps a loaded `FaqEngine` and a `FeedbackStore`."""

    def __init__(self, engine: FaqEngine, store: FeedbackStore) -> None:
        self._engine = engine
        self._store = store

    @property
    def engine(self) -> FaqEngine:
        return self._engine

    async def ask(self, text: str) -> FaqAnswer:
        """Answer a question; an unanswered one is stored digit-masked, without its asker."""
        result = self._engine.answer(text)
        topic_id = result.topic.id if result.topic else "-"
        logger.info(
            "faq outcome=%s topic=%s score=%.3f",
            result.outcome.value,
            topic_id,
            result.score,
        )
        if result.outcome is Outcome.UNKNOWN and text.strip():
            await self._store.log_unanswered(mask_digits(text.strip()))
        return result

    async def feedback(self, topic_id: str, helpful: bool) -> None:
        """Count a "有帮助 / 没帮助" press; raises UnknownTopicError for a stale topic id."""
        try:
            self._engine.topic(topic_id)
        except KeyError:
            raise UnknownTopicError(topic_id) from None
        await self._store.record(topic_id, helpful)
