"""Loading and checking the knowledge base file."""

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bot.faq.model import Category, Topic

MAX_ANSWER_CHARS = 600


class KnowledgeError(ValueError):
    """The knowledge base file is malformed; raised at start-up, never mid-chat."""


@dataclass(frozen=True, slots=True)
class Entry:
    """A topic (or an out-of-scope pattern) with the texts that should find it."""

    id: str
    texts: tuple[str, ...]
    in_scope: bool


@dataclass(frozen=True, slots=True)
class Knowledge:
    topics: tuple[Topic, ...]
    categories: tuple[Category, ...]
    entries: tuple[Entry, ...]
    aliases: dict[str, str]


def load_knowledge(path: str | Path | None = None) -> Knowledge:
    """Read and check a knowledge base; `None` means the shipped one."""
    if path is None:
        raw = resources.files("bot.faq").joinpath("knowledge.json").read_text("utf-8")
    else:
        raw = Path(path).read_text("utf-8")
    return parse_knowledge(json.loads(raw))


def parse_knowledge(data: dict[str, Any]) -> Knowledge:
    """Build the knowledge from its JSON form, refusing duplicates and dangling references."""
    category_titles = {c["id"]: c["title"] for c in data["categories"]}
    topics: list[Topic] = []
    entries: list[Entry] = []
    seen: set[str] = set()
    for item in data["topics"]:
        topic_id = item["id"]
        if topic_id in seen:
            raise KnowledgeError(f"duplicate topic id {topic_id}")
        seen.add(topic_id)
        if item["category"] not in category_titles:
            raise KnowledgeError(f"topic {topic_id} has unknown category {item['category']}")
        if len(item["answer"]) > MAX_ANSWER_CHARS:
            raise KnowledgeError(f"answer of {topic_id} is longer than {MAX_ANSWER_CHARS}")
        if not item["phrasings"]:
            raise KnowledgeError(f"topic {topic_id} has no phrasings")
        topics.append(
            Topic(
                id=topic_id,
                title=item["title"],
                answer=item["answer"],
                related=tuple(item.get("related", ())),
                category=item["category"],
            )
        )
        texts = (item["title"], *item["phrasings"], *item.get("keywords", ()))
        entries.append(Entry(topic_id, texts, in_scope=True))
    for topic in topics:
        for related in topic.related:
            if related not in seen:
                raise KnowledgeError(f"topic {topic.id} relates to unknown topic {related}")
    for item in data.get("out_of_scope", ()):
        if item["id"] in seen:
            raise KnowledgeError(f"duplicate topic id {item['id']}")
        seen.add(item["id"])
        entries.append(Entry(item["id"], tuple(item["phrasings"]), in_scope=False))
    categories = tuple(
        Category(
            id=cat_id,
            title=title,
            topic_ids=tuple(t.id for t in topics if t.category == cat_id),
        )
        for cat_id, title in category_titles.items()
    )
    return Knowledge(
        topics=tuple(topics),
        categories=categories,
        entries=tuple(entries),
        aliases=dict(data.get("aliases", {})),
    )
