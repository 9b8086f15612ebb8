"""What the Telegram transports say on their own: the command menu and the last-resort reply."""

from __future__ import annotations

# The command menu set with setMyCommands at start, in the order it is shown.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "开始"),
    ("register", "信息确认"),
    ("status", "我的状态"),
    ("invitations", "签约邀请"),
    ("agreement", "我的协议"),
    ("breach", "解约申请"),
    ("faq", "常见问题"),
    ("settings", "设置"),
    ("help", "帮助"),
    ("cancel", "取消"),
)

# Sent when the conversation itself failed; nothing the user sent is lost.
INTERNAL_ERROR = "抱歉，处理时出了点问题，请稍后再试。如果一直这样，请发送 /help。"

# Sent once when a user has sent more than the bot keeps in line; the excess is not handled.
SLOW_DOWN = "消息太多了，请慢一点。刚才多出来的消息没有处理，等我回复完再发。"
