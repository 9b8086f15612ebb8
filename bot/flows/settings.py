"""/settings: reminders on or off, and muting one deadline."""

from __future__ import annotations

from bot.flows.base import Ctx, Deps, row, say
from bot.flows.format import esc, when
from bot.flows.types import Answer, Button
from bot.texts import flows as t
from core.domain.errors import NotFound


class SettingsFlow:
    def __init__(self, deps: Deps) -> None:
        self._service = deps.service

    async def show(self, ctx: Ctx, *, edit: bool = False, toast: str = "") -> Answer:
        g = await self._service.graduate(ctx.actor)
        lines = [
            t.SETTINGS_TITLE,
            t.SETTINGS_REMINDERS_ON if g.reminders_enabled else t.SETTINGS_REMINDERS_OFF,
        ]
        toggle = (
            Button(t.SETTINGS_TURN_OFF, "set:r:0")
            if g.reminders_enabled
            else Button(t.SETTINGS_TURN_ON, "set:r:1")
        )
        buttons = [row(toggle)]
        deadlines = await self._service.deadlines(ctx.actor)
        if deadlines:
            lines += ["", t.SETTINGS_DEADLINES]
        for item in deadlines[:8]:
            mark = t.SETTINGS_MUTED_MARK if item.muted else ""
            lines.append(
                t.SETTINGS_DEADLINE_LINE.format(
                    label=esc(item.label), when=when(item.at), muted=mark
                )
            )
            label = item.label[:24]
            if item.muted:
                button = Button(t.SETTINGS_UNMUTE.format(label=label), f"set:u:{item.key}")
            else:
                button = Button(t.SETTINGS_MUTE.format(label=label), f"set:m:{item.key}")
            buttons.append(row(button))
        return say("\n".join(lines), tuple(buttons), edit=edit, toast=toast)

    async def on_callback(self, ctx: Ctx, parts: list[str]) -> Answer:
        action = parts[0] if parts else ""
        if action == "r" and parts[1:] in (["0"], ["1"]):
            await self._service.set_reminders(ctx.actor, parts[1] == "1")
            return await self.show(ctx, edit=True, toast=t.SETTINGS_SAVED)
        if action in ("m", "u") and len(parts) >= 2:
            key = ":".join(parts[1:])
            try:
                await self._service.mute_deadline(ctx.actor, key, muted=action == "m")
            except NotFound as error:
                return say(esc(error.message), toast=error.message)
            return await self.show(ctx, edit=True, toast=t.SETTINGS_SAVED)
        return say(t.STALE_BUTTON, toast=t.STALE_BUTTON)
