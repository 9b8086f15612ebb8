"""Operator command line for the university office and employers.

Every command prints one JSON object with ``--json`` (otherwise readable lines). Bad
arguments exit 2; a refused action exits 1 with the domain error's code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from dataclasses import asdict, is_dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from pydantic import ValidationError

from core.bootstrap import Core, open_core, quiet_noisy_loggers, utc_now
from core.config import ConfigError, CoreSettings
from core.demo import seed_demo
from core.domain.actors import Actor
from core.domain.errors import DomainError
from core.domain.states import RegistrationStatus
from core.domain.terms import Terms
from core.domain.validators import validate_salary
from core.reminders import unreachable_with_deadlines

log = logging.getLogger(__name__)


class UsageError(Exception):
    """Arguments that parse but make no sense; exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a time zone, e.g. {text}+08:00")
    return value


def non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value}")
    return value


def record_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an agreement id: {text!r}") from None
    if not 0 < value < 2**31:
        raise argparse.ArgumentTypeError(f"no agreement has id {value}")
    return value


def money(text: str) -> int:
    try:
        return validate_salary(text)
    except DomainError:
        raise argparse.ArgumentTypeError(f"not an amount in yuan: {text!r}") from None


def yes_no(text: str) -> bool:
    if text.lower() in ("yes", "y", "true", "1", "是"):
        return True
    if text.lower() in ("no", "n", "false", "0", "否"):
        return False
    raise argparse.ArgumentTypeError("answer yes or no")


def add_terms(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--position", required=required)
    p.add_argument("--city", required=required)
    p.add_argument("--salary", type=money, required=required, help="monthly, yuan before tax")
    p.add_argument("--probation-months", type=non_negative, required=required)
    p.add_argument("--service-years", type=non_negative, required=required)
    p.add_argument("--penalty", type=non_negative, required=required, help="breach penalty, yuan")
    p.add_argument("--insurance", type=yes_no, default=None, help="五险一金: yes or no")
    p.add_argument("--insurance-notes", default=None)
    p.add_argument("--other-clauses", default=None)
    p.add_argument("--respond-by", type=parse_time, required=required, help="ISO 8601 with zone")


def build_parser() -> Parser:
    common = Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object")
    p = Parser(prog="python -m core", description="网签助手 operator commands", parents=[common])
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    sub.add_parser("init", parents=[common], help="create or migrate the database")
    demo = sub.add_parser("demo", parents=[common], help="idempotent demo data")
    demo.add_argument("--telegram-user", type=int)
    regs = sub.add_parser("registrations", parents=[common])
    regs.add_argument("--status", choices=[s.value for s in RegistrationStatus])
    for name in ("approve", "reject"):
        cmd = sub.add_parser(name, parents=[common])
        cmd.add_argument("student_no")
        cmd.add_argument("--university")
        if name == "reject":
            cmd.add_argument("--reason", required=True)
    emp = sub.add_parser("employer", parents=[common], help="register an employer")
    emp.add_argument("--name", required=True)
    emp.add_argument("--credit-code", required=True)
    emp.add_argument(
        "--override-check",
        action="store_true",
        help="admit an early code that fails the check (audited)",
    )
    inv = sub.add_parser("invite", parents=[common])
    inv.add_argument("--employer", required=True, help="credit code")
    inv.add_argument("--student", required=True, help="student number")
    inv.add_argument("--university")
    add_terms(inv, required=True)
    acting = Parser(add_help=False)
    acting.add_argument(
        "--employer",
        help="credit code of the employer acting; refused when the agreement is not theirs",
    )
    rev = sub.add_parser("revise", parents=[common, acting])
    rev.add_argument("id", type=record_id)
    add_terms(rev, required=False)
    for name in ("withdraw", "seal"):
        sub.add_parser(name, parents=[common, acting]).add_argument("id", type=record_id)
    for name in ("file", "show"):
        sub.add_parser(name, parents=[common]).add_argument("id", type=record_id)
    term = sub.add_parser("termination", parents=[common, acting])
    term.add_argument("action", choices=["request", "consent", "refuse", "approve"])
    term.add_argument("id", type=record_id)
    term.add_argument("--penalty", type=non_negative)
    term.add_argument("--reason")
    exp = sub.add_parser("expire", parents=[common])
    exp.add_argument("--now", type=parse_time)
    unr = sub.add_parser(
        "unreachable",
        parents=[common],
        help="graduates who blocked the bot and have a deadline coming",
    )
    unr.add_argument("--within", type=non_negative, default=72, help="hours ahead (72)")
    unr.add_argument("--university")
    unr.add_argument("--now", type=parse_time)
    return p


def plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, dict):
        return {k: plain(x) for k, x in value.items()}
    if isinstance(value, list | tuple):
        return [plain(x) for x in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


async def run(args: argparse.Namespace, core: Core) -> dict[str, Any]:
    svc = core.service
    cmd = args.command
    if cmd == "init":
        return {"ok": True, "database": core.engine.url.render_as_string(hide_password=True)}
    if cmd == "demo":
        return {
            "ok": True,
            **await seed_demo(core, telegram_user_id=args.telegram_user, now=utc_now()),
        }
    if cmd == "registrations":
        status = RegistrationStatus(args.status) if args.status else None
        rows = await svc.registrations(status)
        return {"ok": True, "registrations": plain(rows)}
    if cmd in ("approve", "reject"):
        graduate_id = await svc.find_graduate(args.student_no, args.university)
        actor = Actor.university(await svc.university_of(graduate_id))
        if cmd == "approve":
            view = await svc.approve_registration(actor, graduate_id)
        else:
            view = await svc.reject_registration(actor, graduate_id, args.reason)
        return {"ok": True, "graduate_id": graduate_id, "status": view.status.value}
    if cmd == "employer":
        eid = await svc.register_employer(
            args.name, args.credit_code, override_check=args.override_check
        )
        return {"ok": True, "employer_id": eid}
    if cmd == "invite":
        employer = Actor.employer(await svc.employer_by_code(args.employer))
        graduate_id = await svc.find_graduate(args.student, args.university)
        terms = Terms(
            position=args.position,
            city=args.city,
            salary_yuan=args.salary,
            probation_months=args.probation_months,
            service_years=args.service_years,
            penalty_yuan=args.penalty,
            insurance=True if args.insurance is None else args.insurance,
            insurance_notes=args.insurance_notes or "",
            other_clauses=args.other_clauses or "",
        )
        view = await svc.invite(employer, graduate_id, terms, args.respond_by)
        return {"ok": True, "agreement_id": view.id, "token": view.token, "digest": view.digest}
    system = Actor.system("cli")
    if cmd == "expire":
        done = await svc.expire_due(args.now)
        return {"ok": True, "transitions": plain(done)}
    if cmd == "unreachable":
        rows = await unreachable_with_deadlines(
            core.sessions,
            args.now or utc_now(),
            timedelta(hours=args.within),
            university=args.university,
        )
        return {"ok": True, "graduates": plain(rows)}
    current = await svc.agreement(system, args.id)
    # An operator acting for one employer names it; the service then refuses other employers'
    # agreements. Without --employer the command acts for the agreement's own employer.
    acting_for = getattr(args, "employer", None) or current.employer_credit_code
    employer = Actor.employer(await svc.employer_by_code(acting_for))
    university = Actor.university(await svc.university_of(current.graduate_id))
    if cmd == "show":
        return {"ok": True, "agreement": plain(current)}
    if cmd == "revise":
        old = current.terms
        terms = Terms(
            position=args.position or old.position,
            city=args.city or old.city,
            salary_yuan=args.salary if args.salary is not None else old.salary_yuan,
            probation_months=_pick(args.probation_months, old.probation_months),
            service_years=_pick(args.service_years, old.service_years),
            penalty_yuan=_pick(args.penalty, old.penalty_yuan),
            insurance=_pick(args.insurance, old.insurance),
            insurance_notes=_pick(args.insurance_notes, old.insurance_notes),
            other_clauses=_pick(args.other_clauses, old.other_clauses),
        )
        view = await svc.revise(employer, args.id, terms, args.respond_by)
    elif cmd == "withdraw":
        view = await svc.withdraw(employer, args.id)
    elif cmd == "seal":
        view = await svc.seal(employer, args.id)
    elif cmd == "file":
        view = await svc.file(university, args.id)
    elif cmd == "termination":
        if args.action == "request":
            if not args.reason:
                raise UsageError("termination request needs --reason")
            await svc.request_termination(employer, args.id, args.reason)
            view = await svc.agreement(system, args.id)
        elif args.action == "approve":
            view = await svc.approve_termination(university, args.id)
        else:
            # The party that did not ask answers; a graduate answers in the bot.
            party = employer
            if current.termination_by == "employer":
                raise UsageError("the graduate answers an employer's request, in the bot")
            if args.action == "consent":
                view = await svc.consent_termination(party, args.id, args.penalty)
            else:
                view = await svc.refuse_termination(party, args.id)
    else:  # pragma: no cover - argparse restricts the choices
        raise UsageError(f"unknown command {cmd}")
    return {
        "ok": True,
        "agreement_id": view.id,
        "state": view.state.value,
        "version": view.version,
        "digest": view.digest,
    }


def _pick(new: Any, old: Any) -> Any:
    return old if new is None else new


def emit(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, ensure_ascii=False, default=str))
        return
    for key, value in result.items():
        if isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False, indent=2, default=str)
        print(f"{key}: {value}")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    quiet_noisy_loggers()
    argv = sys.argv[1:] if argv is None else argv
    as_json = "--json" in argv
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        emit({"ok": False, "error": "usage", "message": str(exc)}, as_json)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)

    async def go() -> dict[str, Any]:
        async with open_core(CoreSettings()) as core:
            return await run(args, core)

    try:
        result = asyncio.run(go())
    except UsageError as exc:
        emit({"ok": False, "error": "usage", "message": str(exc)}, as_json)
        return 2
    except DomainError as exc:
        emit({"ok": False, "error": exc.code, "message": exc.message}, as_json)
        return 1
    except ConfigError as exc:
        emit({"ok": False, "error": "config", "message": str(exc)}, as_json)
        return 2
    except ValidationError as exc:
        # Settings from the environment; the messages name the variable, never its value.
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        emit({"ok": False, "error": "config", "message": problems}, as_json)
        return 2
    emit(result, as_json)
    return 0
