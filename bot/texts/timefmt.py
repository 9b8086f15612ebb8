"""Times as graduates read them: Beijing time, weekday, and what is left."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def when(at: datetime) -> str:
    """``12月6日(周六) 18:00`` in Beijing time."""
    local = at.astimezone(BEIJING)
    return f"{local.month}月{local.day}日({WEEKDAYS[local.weekday()]}) {local:%H:%M}"


def remaining(at: datetime, now: datetime) -> str:
    """``1 天 3 小时``, ``5 小时 20 分钟``, ``40 分钟``: rounded down, never below a minute."""
    minutes = max(1, int((at - now).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} 天 {hours} 小时" if hours else f"{days} 天"
    if hours:
        return f"{hours} 小时 {mins} 分钟" if mins else f"{hours} 小时"
    return f"{mins} 分钟"


def time_left(at: datetime, now: datetime) -> str:
    return f"还剩 {remaining(at, now)}" if at > now else "已截止"


def deadline_line(at: datetime, now: datetime) -> str:
    """``12月6日(周六) 18:00 截止，还剩 1 天 3 小时``."""
    return f"{when(at)} 截止，{time_left(at, now)}"
