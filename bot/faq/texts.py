"""User-facing texts of the FAQ (Simplified Chinese), kept together for review."""

UNKNOWN_REPLY = (
    "抱歉，这个问题我还答不了，怕说错耽误你。\n\n"
    "你可以换个说法再问一次，或者发送 /faq 浏览常见问题。\n\n"
    "需要人工帮助，请联系你所在学校的就业指导中心：工作时间到办公室当面咨询，"
    "或拨打学校就业信息网公布的官方电话。"
)

AMBIGUOUS_PROMPT = "你是不是想问："

AMBIGUOUS_FOOTER = "点选一个问题查看回答；都不是的话，换个说法再问一次。"

FEEDBACK_PROMPT = "这个回答有帮助吗？"
FEEDBACK_HELPFUL = "有帮助"
FEEDBACK_UNHELPFUL = "没帮助"
FEEDBACK_THANKS = "谢谢反馈！"
FEEDBACK_SORRY = "谢谢反馈，我们会改进这条回答。需要人工帮助可以联系学校就业指导中心。"


def ambiguous_text(titles: list[str]) -> str:
    """The prompt for an ambiguous question; the bot also shows the titles as buttons."""
    lines = [AMBIGUOUS_PROMPT]
    lines.extend(f"{n}. {title}" for n, title in enumerate(titles, start=1))
    lines.append("")
    lines.append(AMBIGUOUS_FOOTER)
    return "\n".join(lines)
