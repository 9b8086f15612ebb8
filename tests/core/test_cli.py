"""`python -m core` as an operator runs it: a subprocess on a SQLite file in a fresh directory."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.bootstrap import open_core
from core.config import CoreSettings
from core.domain.actors import Actor
from core.domain.otp import CodeOutcome
from core.domain.states import DocumentKind
from tests.conftest import TEST_SECRET, RecordingSms
from tests.core.conftest import PNG, id_number

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    status: int
    out: dict
    stdout: str
    stderr: str


class Cli:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.url = f"sqlite+aiosqlite:///{workdir / 'x.db'}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "SECRET_KEY": TEST_SECRET,
            "PYTHONPATH": str(ROOT),
        }
        self.env.pop("SMS_WEBHOOK_URL", None)

    async def __call__(self, *args: str) -> Run:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "core",
            *args,
            "--json",
            cwd=self.workdir,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        stdout = out.decode()
        lines = stdout.splitlines()
        assert len(lines) == 1, stdout  # exactly one JSON object
        return Run(proc.returncode or 0, json.loads(lines[0]), stdout, err.decode())

    def settings(self) -> CoreSettings:
        return CoreSettings(database_url=self.url, secret_key=TEST_SECRET, _env_file=None)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def iso(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def _sign_in_process(cli: Cli, graduate_id: int, agreement_id: int) -> None:
    sms = RecordingSms()
    async with open_core(cli.settings(), sms=sms) as core:
        me = Actor.graduate(graduate_id)
        view = await core.service.agreement(me, agreement_id)
        await core.service.request_signing_code(me, agreement_id, view.digest)
        result = await core.service.confirm_signature(me, agreement_id, sms.last_code())
        assert result.outcome is CodeOutcome.OK


async def test_a_newcomer_takes_the_demo_agreement_from_invitation_to_filed(cli):
    init = await cli("init")
    assert init.status == 0 and init.out["ok"] is True
    assert (cli.workdir / "x.db").exists()

    demo = await cli("demo", "--telegram-user", "4242")
    again = await cli("demo", "--telegram-user", "4242")
    assert demo.status == again.status == 0
    assert demo.out == again.out
    agreement_id = demo.out["agreement_id"]
    assert demo.out["student_no"] == "2026000001"

    await _sign_in_process(cli, demo.out["graduate_id"], agreement_id)
    sealed = await cli("seal", str(agreement_id))
    assert (sealed.status, sealed.out["state"]) == (0, "effective")
    filed = await cli("file", str(agreement_id))
    assert (filed.status, filed.out["state"]) == (0, "filed")

    shown = await cli("show", str(agreement_id))
    agreement = shown.out["agreement"]
    assert agreement["state"] == "filed"
    assert [v["digest"] for v in agreement["versions"]] == [agreement["digest"]]
    assert [h["action"] for h in agreement["history"]] == [
        "agreement.invite",
        "agreement.sign",
        "agreement.seal",
        "agreement.file",
    ]
    assert {h["digest"] for h in agreement["history"]} == {agreement["digest"]}
    assert "13800138000" not in shown.stdout + shown.stderr

    # After filing, demo still points at the same, now filed, agreement.
    assert (await cli("demo", "--telegram-user", "4242")).out["agreement_id"] == agreement_id


async def _terminate_as_graduate(cli: Cli, graduate_id: int, agreement_id: int) -> None:
    sms = RecordingSms()
    # Two minutes ahead: the signing code just sent holds the one-a-minute resend gap.
    async with open_core(cli.settings(), sms=sms, clock=_ahead(minutes=2)) as core:
        me = Actor.graduate(graduate_id)
        await core.service.request_termination_code(me, agreement_id)
        result = await core.service.request_termination(me, agreement_id, "读研", sms.last_code())
        assert result.ok


def _ahead(**delta: float):
    return lambda: datetime.now(UTC) + timedelta(**delta)


TERMS = [
    "--position", "测试工程师", "--city", "上海", "--salary", "1.2万",
    "--probation-months", "3", "--service-years", "2", "--penalty", "3000",
]  # fmt: skip


async def _submit_registration(cli: Cli) -> int:
    """A graduate registers in the bot (in process) and submits for review."""
    sms = RecordingSms()
    async with open_core(cli.settings(), sms=sms) as core:
        svc = core.service
        me = Actor.graduate((await svc.begin_registration(77, 77, consent=True)).id)
        values = {
            "name": "王五",
            "id_number": id_number(777),
            "phone": "13700000777",
            "university": "示例大学",
            "student_no": "2026000777",
            "faculty": "数学学院",
            "major": "统计学",
            "education_level": "硕士",
            "graduation_year": "2026",
            "industries": "金融",
            "cities": "上海",
            "expected_salary": "1.5万",
        }
        for field, raw in values.items():
            await svc.save_field(me, field, raw)
        for kind in DocumentKind:
            await svc.add_document(me, kind, "scan.png", "image/png", PNG)
        await svc.request_phone_code(me)
        assert (await svc.verify_phone(me, sms.last_code())).ok
        await svc.submit_registration(me)
        return me.id  # type: ignore[return-value]


async def test_operators_invite_revise_withdraw_review_and_terminate(cli):
    demo = (await cli("demo")).out
    code, student, first = demo["employer_credit_code"], demo["student_no"], demo["agreement_id"]

    async def invite_revise_withdraw() -> None:
        invited = await cli(
            "invite", "--employer", code, "--student", student, *TERMS, "--respond-by", iso(5)
        )
        assert invited.status == 0, invited.out
        second = invited.out["agreement_id"]
        revised = await cli("revise", str(second), "--salary", "13000")
        assert (revised.out["state"], revised.out["version"]) == ("invited", 2)
        assert revised.out["digest"] != invited.out["digest"]
        shown = (await cli("show", str(second))).out["agreement"]
        assert shown["terms"]["salary_yuan"] == 13000 and shown["terms"]["city"] == "上海"
        assert len(shown["versions"]) == 2
        withdrawn = await cli("withdraw", str(second))
        assert withdrawn.out["state"] == "withdrawn"
        refused = await cli("withdraw", str(second))
        assert (refused.status, refused.out["error"]) == (1, "invalid_state")
        assert "单位已撤回" in refused.out["message"]

    async def review() -> None:
        newcomer = await _submit_registration(cli)
        listed, not_submitted, unknown = await asyncio.gather(
            cli("registrations", "--status", "submitted"),
            cli("approve", student),
            cli("reject", "9999", "--reason", "无此人"),
        )
        assert [r["student_no"] for r in listed.out["registrations"]] == ["2026000777"]
        assert listed.out["registrations"][0]["id_number_masked"].startswith("110***")
        assert (not_submitted.status, not_submitted.out["error"]) == (1, "invalid_state")
        assert (unknown.status, unknown.out["error"]) == (1, "not_found")
        rejected = await cli("reject", "2026000777", "--reason", "学号与学籍不符")
        assert (rejected.status, rejected.out["status"]) == (0, "rejected")
        assert rejected.out["graduate_id"] == newcomer
        async with open_core(cli.settings(), sms=RecordingSms()) as core:
            me = Actor.graduate(newcomer)
            assert (await core.service.graduate(me)).reject_reason == "学号与学籍不符"
            await core.service.submit_registration(me)
        approved = await cli("approve", "2026000777")
        assert (approved.status, approved.out["status"]) == (0, "approved")

    async def sign_seal_terminate() -> None:
        await _sign_in_process(cli, demo["graduate_id"], first)
        assert (await cli("seal", str(first))).out["state"] == "effective"
        await _terminate_as_graduate(cli, demo["graduate_id"], first)
        consent = await cli("termination", "consent", str(first), "--penalty", "1000")
        assert consent.out["state"] == "termination_agreed"
        approved = await cli("termination", "approve", str(first))
        assert approved.out["state"] == "terminated"
        shown = (await cli("show", str(first))).out["agreement"]
        assert shown["termination_penalty"] == 1000

    await asyncio.gather(invite_revise_withdraw(), review(), sign_seal_terminate())


async def test_termination_refused_by_the_employer_and_an_expiry_run(cli):
    demo = (await cli("demo")).out
    first = demo["agreement_id"]

    async def refuse() -> None:
        await _sign_in_process(cli, demo["graduate_id"], first)
        await cli("seal", str(first))
        await _terminate_as_graduate(cli, demo["graduate_id"], first)
        refused = await cli("termination", "refuse", str(first))
        assert refused.out["state"] == "effective"

    async def expire() -> None:
        other = await cli(
            "invite", "--employer", demo["employer_credit_code"], "--student", "2026000001",
            *TERMS, "--respond-by", iso(1),
        )  # fmt: skip
        assert other.status == 0
        expired = await cli("expire", "--now", iso(2))
        assert expired.out["transitions"] == [
            {
                "agreement_id": other.out["agreement_id"],
                "from_state": "invited",
                "to_state": "expired",
            }
        ]

    await asyncio.gather(refuse(), expire())
    assert (await cli("expire")).out["transitions"] == []


BAD_ARGUMENTS = [
    (["invite", "--employer", "X", "--student", "1"], "required"),
    (["expire", "--now", "tomorrow"], "ISO 8601"),
    (["expire", "--now", "2026-06-01T10:00"], "time zone"),
    (["revise", "1", "--salary", "-5"], "amount"),
    (["revise", "1", "--penalty", "-5"], "negative"),
    (["frobnicate"], "invalid choice"),
    (["seal"], "required"),
    (["seal", "abc"], "not an agreement id"),
    (["withdraw", "99999999999999999999999"], "no agreement has id"),
    (["show", "0"], "no agreement has id"),
    (["termination", "cancel", "1"], "invalid choice"),
]


async def test_bad_arguments_exit_2_with_a_clear_message(cli):
    runs = await asyncio.gather(*(cli(*args) for args, _ in BAD_ARGUMENTS))
    for run, (args, needle) in zip(runs, BAD_ARGUMENTS, strict=True):
        assert run.status == 2, args
        assert run.out["ok"] is False and run.out["error"] == "usage", args
        assert needle in run.out["message"], (args, run.out["message"])


async def test_a_refused_action_exits_1_with_the_domain_code(cli):
    demo = (await cli("demo")).out
    not_signed, missing, bad_code, past, early, no_reason = await asyncio.gather(
        cli("seal", str(demo["agreement_id"])),
        cli("show", "999"),
        cli("employer", "--name", "某公司", "--credit-code", "91110108MA01ABCD01"),
        cli(
            "invite", "--employer", demo["employer_credit_code"], "--student", "2026000001",
            *TERMS, "--respond-by", iso(-1),
        ),
        cli("termination", "request", str(demo["agreement_id"]), "--reason", "岗位取消"),
        cli("termination", "request", str(demo["agreement_id"])),
    )  # fmt: skip
    assert (not_signed.status, not_signed.out["error"]) == (1, "invalid_state")
    assert (missing.status, missing.out["error"]) == (1, "not_found")
    assert (bad_code.status, bad_code.out["error"]) == (1, "employer.credit_code_invalid")
    assert (past.status, past.out["error"]) == (1, "invalid_input")
    assert (early.status, early.out["error"]) == (1, "invalid_state")
    assert (no_reason.status, no_reason.out["error"]) == (2, "usage")


async def test_a_short_secret_key_stops_the_cli_without_showing_it(cli):
    cli.env["SECRET_KEY"] = "too-short-a-key"
    run = await cli("init")
    assert run.status == 2 and run.out["error"] == "config"
    assert "too-short-a-key" not in run.stdout + run.stderr


async def test_an_employer_named_on_the_command_line_cannot_act_on_another_employers_agreement(
    cli,
):
    demo = (await cli("demo")).out
    other = "91110000100000000X"
    assert (
        await cli("employer", "--name", "另一家公司", "--credit-code", other, "--override-check")
    ).status == 0

    refused = await cli("withdraw", str(demo["agreement_id"]), "--employer", other)
    assert refused.status == 1 and refused.out["error"] == "not_found"
    own = await cli(
        "withdraw", str(demo["agreement_id"]), "--employer", demo["employer_credit_code"]
    )
    assert own.status == 0 and own.out["state"] == "withdrawn"
