"""`python -m bot.faq ask` answers arguments and stdin, in text or JSON lines."""

import io
import json

import pytest

from bot.faq.__main__ import main


def test_ask_with_json_answers_each_line_of_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("违约金能谈吗\n\n明天下雨吗\n"))

    assert main(["ask", "--json"]) == 0

    lines = capsys.readouterr().out.splitlines()
    answers = [json.loads(line) for line in lines]
    assert [a["topic"] for a in answers] == ["breach.penalty", None]
    assert set(answers[0]) == {"topic", "score", "alternatives", "answer"}
    assert "就业指导中心" in answers[1]["answer"]


def test_ask_with_text_prints_the_answer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "验证码", "收不到"]) == 0

    assert "signing.otp" in capsys.readouterr().out
