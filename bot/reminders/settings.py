"""The reminder worker reads the bot's settings; this name stays for its modules."""

from bot.config import PUBLIC_API_URL, parse_offsets
from bot.config import BotSettings as ReminderSettings

__all__ = ["PUBLIC_API_URL", "ReminderSettings", "parse_offsets"]
