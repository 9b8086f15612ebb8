"""Plain entities of the FAQ: topics, categories and the engine's answer."""

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True, slots=True)
class Topic:
    """One answerable question; `id` is stable and used in buttons and feedback rows."""

    id: str
    title: str
    answer: str
    related: tuple[str, ...]
    category: str


@dataclass(frozen=True, slots=True)
class Category:
    """A group of topics for the /faq browse menu, in display order."""

    id: str
    title: str
    topic_ids: tuple[str, ...]


class Outcome(Enum):
    ANSWERED = "answered"
    AMBIGUOUS = "ambiguous"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class FaqAnswer:
    """What the engine makes of one question.

    ANSWERED: `topic` is set and `answer_text` is its answer.
    AMBIGUOUS: `topic` is None; `alternatives` holds the 2-3 best topics, best first, and
    `answer_text` is the "你是不是想问" prompt listing them.
    UNKNOWN: `topic` is None, `alternatives` is empty and `answer_text` is the honest
    "我还答不了" reply with how to reach the university office.
    `score` is the best in-scope topic's score in [0, 1].
    """

    outcome: Outcome
    topic: Topic | None
    score: float
    alternatives: tuple[Topic, ...]
    answer_text: str

    @property
    def best_guess(self) -> Topic | None:
        """The topic the engine ranks first, whether or not it dared to answer with it."""
        if self.topic is not None:
            return self.topic
        return self.alternatives[0] if self.alternatives else None
