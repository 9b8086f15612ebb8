"""Splitting long Telegram HTML: every piece fits and parses, and nothing is lost."""

import pytest

from bot.handlers.render import plain_text, split_html, utf16_len
from tests.fakes.botapi import parse_html


def visible(pieces: list[str]) -> str:
    return "".join(parse_html(piece)[0] for piece in pieces)


def test_a_short_text_is_left_alone() -> None:
    assert split_html("<b>短</b>") == ["<b>短</b>"]


def test_pieces_end_at_line_boundaries_when_lines_fit() -> None:
    text = "\n".join(f"第{n}条 " + "款" * 30 for n in range(300))

    pieces = split_html(text, limit=1000)

    assert all(utf16_len(piece) <= 1000 for piece in pieces)
    assert all(piece.endswith("\n") for piece in pieces[:-1])
    assert "".join(pieces) == text


def test_a_tag_open_at_a_cut_is_closed_and_reopened() -> None:
    text = '<b>加粗开始\n<a href="https://example.org/?a=1&amp;b=2">' + "链接\n" * 400 + "</a></b>"

    pieces = split_html(text, limit=500)

    assert len(pieces) > 2
    for piece in pieces:
        parse_html(piece)  # raises on broken markup
        assert utf16_len(piece) <= 500
    assert pieces[1].startswith('<b><a href="https://example.org/?a=1&amp;b=2">')
    assert visible(pieces).replace("\n", "") == parse_html(text)[0].replace("\n", "")


def test_one_long_line_is_cut_at_spaces_and_never_inside_an_entity() -> None:
    text = "&lt;条款&gt; " * 1000

    pieces = split_html(text, limit=4096)

    for piece in pieces:
        parse_html(piece)
        assert not piece.rstrip().endswith("&lt")
    assert visible(pieces).replace(" ", "") == parse_html(text)[0].replace(" ", "")


def test_text_without_any_break_is_cut_between_characters() -> None:
    text = "字" * 10_000

    pieces = split_html(text)

    assert [len(piece) for piece in pieces] == [4096, 4096, 1808]


def test_emoji_count_as_two_units_as_telegram_counts_them() -> None:
    pieces = split_html("😀" * 3000)

    assert all(utf16_len(piece) <= 4096 for piece in pieces)
    assert "".join(pieces) == "😀" * 3000


def test_a_limit_too_small_for_the_markup_is_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        split_html("<b><i><u>" + "字" * 50 + "</u></i></b>", limit=12)


def test_plain_text_drops_telegram_tags_but_keeps_other_angle_brackets() -> None:
    assert plain_text("<b>薪酬</b> &lt;面议&gt; <script>") == "薪酬 <面议> <script>"
