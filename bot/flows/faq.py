"""Free questions and the /faq browse menu, answered by the FAQ engine."""

from __future__ import annotations

from bot.faq import Outcome, Topic, UnknownTopicError
from bot.faq import texts as faq_texts
from bot.flows.base import Ctx, Deps, Rows, row, rows, say
from bot.flows.format import esc
from bot.flows.types import Answer, Button
from bot.texts import flows as t


class FaqFlow:
    def __init__(self, deps: Deps) -> None:
        self._faq = deps.faq
        self._service = deps.service

    async def ask(self, ctx: Ctx, text: str) -> Answer:
        result = await self._faq.ask(text)
        if result.outcome is Outcome.ANSWERED and result.topic is not None:
            return self._answer(result.topic)
        if result.outcome is Outcome.AMBIGUOUS:
            buttons = tuple(
                row(Button(topic.title[:40], f"faq:t:{topic.id}"))
                for topic in result.alternatives[:3]
            )
            return say(esc(result.answer_text), buttons)
        text = esc(result.answer_text)
        graduate_id = ctx.graduate.id if ctx.graduate else None
        contact = await self._service.university_contact(graduate_id)
        if contact:
            text += "\n\n" + t.FAQ_UNKNOWN_CONTACT.format(contact=esc(contact))
        return say(text)

    def menu(self, *, edit: bool = False) -> Answer:
        buttons = rows(
            (Button(c.title, f"faq:c:{c.id}") for c in self._faq.engine.categories()), width=2
        )
        return say(t.FAQ_MENU, buttons, edit=edit)

    async def on_callback(self, ctx: Ctx, parts: list[str]) -> Answer:
        action, arg = (parts[0], ":".join(parts[1:])) if parts else ("", "")
        if action == "m":
            return self.menu(edit=True)
        if action == "c":
            category = next((c for c in self._faq.engine.categories() if c.id == arg), None)
            if category is None:
                return say(t.FAQ_STALE, toast=t.FAQ_STALE)
            topics = self._faq.engine.topics(category.id)
            buttons: Rows = (
                *(row(Button(topic.title[:40], f"faq:t:{topic.id}")) for topic in topics),
                row(Button(t.FAQ_BACK, "faq:m")),
            )
            return say(t.FAQ_CATEGORY.format(title=esc(category.title)), buttons, edit=True)
        if action == "t":
            try:
                topic = self._faq.engine.topic(arg)
            except KeyError:
                return say(t.FAQ_STALE, toast=t.FAQ_STALE)
            return self._answer(topic)
        if action in ("y", "n"):
            # One vote per user and topic, whichever button and however the data was made.
            if ctx.session.has_voted(arg):
                return Answer(toast=t.FAQ_ALREADY_VOTED)
            try:
                await self._faq.feedback(arg, helpful=action == "y")
            except UnknownTopicError:
                return say(t.FAQ_STALE, toast=t.FAQ_STALE)
            ctx.session.vote(arg)
            if action == "y":
                return Answer(toast=faq_texts.FEEDBACK_THANKS)
            return say(faq_texts.FEEDBACK_SORRY, toast=faq_texts.FEEDBACK_THANKS)
        return say(t.STALE_BUTTON, toast=t.STALE_BUTTON)

    def _answer(self, topic: Topic) -> Answer:
        text = f"<b>{esc(topic.title)}</b>\n{esc(topic.answer)}\n\n{faq_texts.FEEDBACK_PROMPT}"
        buttons = (
            row(
                Button(faq_texts.FEEDBACK_HELPFUL, f"faq:y:{topic.id}"),
                Button(faq_texts.FEEDBACK_UNHELPFUL, f"faq:n:{topic.id}"),
            ),
        )
        return say(text, buttons)
