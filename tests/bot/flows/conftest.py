"""A chat driver for the flows: sends events to a real FlowConversation and reads replies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from itertools import count

import pytest

from bot.faq import FaqEngine, FaqService
from bot.flows.router import FlowConversation
from bot.flows.types import Answer, Button, Event, EventKind, Reply, Upload
from bot.state import SqlStateStore
from core.bootstrap import Core
from core.demo import demo_credit_code
from core.domain.actors import Actor
from core.domain.terms import Terms
from core.storage.faq import SqlFeedbackStore

TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)
_updates = count(1)


@pytest.fixture(scope="session")
def faq_engine() -> FaqEngine:
    return FaqEngine.load()


class Chat:
    """One Telegram user talking to the conversation, the way an adapter would drive it."""

    def __init__(self, conversation: FlowConversation, user_id: int, *, private: bool = True):
        self.conversation = conversation
        self.user_id = user_id
        self.private = private
        self.answers: list[Answer] = []

    async def _send(self, **kwargs: object) -> Answer:
        event = Event(
            user_id=self.user_id,
            chat_id=self.user_id,
            private=self.private,
            update_id=next(_updates),
            **kwargs,  # type: ignore[arg-type]
        )
        answer = await self.conversation.handle(event)
        self.answers.append(answer)
        return answer

    async def say(self, text: str) -> Answer:
        return await self._send(kind=EventKind.TEXT, text=text)

    async def command(self, name: str, args: str = "") -> Answer:
        return await self._send(kind=EventKind.COMMAND, command=name, args=args, text=f"/{name}")

    async def tap_data(self, data: str) -> Answer:
        return await self._send(kind=EventKind.CALLBACK, callback_data=data, message_id=1)

    async def tap(self, label: str) -> Answer:
        """Press the button whose text contains ``label`` on the latest message showing one."""
        return await self.tap_data(self.button(label).data)

    async def upload(self, data: bytes, name: str = "a.png", ctype: str = "image/png") -> Answer:
        async def fetch() -> bytes:
            return data

        upload = Upload(name, ctype, len(data), fetch)
        kind = EventKind.PHOTO if ctype.startswith("image/") else EventKind.DOCUMENT
        return await self._send(kind=kind, upload=upload)

    async def sticker(self) -> Answer:
        return await self._send(kind=EventKind.UNSUPPORTED, unsupported="sticker")

    def button(self, label: str) -> Button:
        for answer in reversed(self.answers):
            for reply in reversed(answer.replies):
                for line in reply.buttons:
                    for button in line:
                        if label in button.text:
                            return button
        raise AssertionError(f"no button {label!r} in the recent replies")

    @property
    def last(self) -> Reply:
        return self.answers[-1].replies[-1]

    @property
    def text(self) -> str:
        """Everything the last answer said."""
        return "\n".join(r.text for r in self.answers[-1].replies)


@pytest.fixture
def state_store(core: Core) -> SqlStateStore:
    return SqlStateStore(core.sessions)


@pytest.fixture
def conversation(core: Core, faq_engine: FaqEngine, state_store: SqlStateStore):
    faq = FaqService(faq_engine, SqlFeedbackStore(core.engine))
    return FlowConversation(core.service, faq, state_store)


@pytest.fixture
def chat(conversation: FlowConversation) -> Chat:
    return Chat(conversation, 1001)


@pytest.fixture
async def world(core: Core, clock) -> AsyncIterator[dict[str, int]]:
    """A university and an employer, as the office would have set them up."""
    university = await core.service.register_university(
        "测试大学", office_contact="就业指导中心 010-12345678"
    )
    employer = await core.service.register_employer("测试科技有限公司", demo_credit_code())
    yield {"university": university, "employer": employer}


def sample_terms(**changes: object) -> Terms:
    values: dict[str, object] = {
        "position": "后端工程师",
        "city": "杭州",
        "salary_yuan": 12000,
        "probation_months": 3,
        "service_years": 2,
        "penalty_yuan": 3000,
        "insurance": True,
        "insurance_notes": "",
        "other_clauses": "",
    }
    values.update(changes)
    return Terms(**values)  # type: ignore[arg-type]


async def invite(core: Core, clock, employer_id: int, graduate_id: int, **changes: object):
    return await core.service.invite(
        Actor.employer(employer_id),
        graduate_id,
        sample_terms(**changes),
        clock.now + timedelta(days=3, hours=4),
    )
