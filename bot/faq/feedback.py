"""Where "有帮助 / 没帮助" votes and unanswered questions go."""

from collections import Counter
from typing import Protocol


class FeedbackStore(Protocol):
    """Implemented by `core.storage.faq.SqlFeedbackStore`; never given a user identity."""

    async def record(self, topic_id: str, helpful: bool) -> None: ...

    async def counts(self) -> list[tuple[str, int, int]]:
        """(topic_id, helpful_count, unhelpful_count) per topic, ordered by topic id."""
        ...

    async def log_unanswered(self, masked_text: str) -> None: ...


class InMemoryFeedbackStore:
    """A FeedbackStore for tests and the console adapter."""

    def __init__(self) -> None:
        self.helpful: Counter[str] = Counter()
        self.unhelpful: Counter[str] = Counter()
        self.unanswered: list[str] = []

    async def record(self, topic_id: str, helpful: bool) -> None:
        (self.helpful if helpful else self.unhelpful)[topic_id] += 1

    async def counts(self) -> list[tuple[str, int, int]]:
        topic_ids = sorted(set(self.helpful) | set(self.unhelpful))
        return [(t, self.helpful[t], self.unhelpful[t]) for t in topic_ids]

    async def log_unanswered(self, masked_text: str) -> None:
        self.unanswered.append(masked_text)
