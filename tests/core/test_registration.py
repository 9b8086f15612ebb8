"""Registration: consent, fields, documents, submission and the university's review."""

import pytest
from sqlalchemy import select

from core.domain.actors import Actor
from core.domain.errors import (
    CodeRateLimited,
    ConsentRequired,
    DuplicateRecord,
    Forbidden,
    InvalidInput,
    InvalidState,
    NotFound,
    NotRegistered,
    PhoneNotVerified,
    RegistrationIncomplete,
)
from core.domain.otp import CodeOutcome
from core.domain.states import DocumentKind, RegistrationStatus
from core.storage.models import Graduate, OutboxMessage
from tests.core.conftest import PNG, id_number

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


async def test_nothing_is_collected_before_consent(world):
    with pytest.raises(ConsentRequired) as caught:
        await world.svc.begin_registration(1, 1, consent=False)
    assert caught.value.code == "registration.consent_required"
    assert await world.svc.graduate_for_telegram(1) is None


async def test_beginning_twice_returns_the_same_draft(world):
    first = await world.svc.begin_registration(5, 5, consent=True)
    again = await world.svc.begin_registration(5, 6, consent=True)
    assert again.id == first.id
    assert again.status is RegistrationStatus.DRAFT
    assert (await world.svc.graduate_for_telegram(5)).id == first.id
    assert await world.svc.chat_for_graduate(first.id) == 6


async def test_a_registration_goes_from_draft_to_approved(world):
    me = await world.graduate(submit=False)
    view = await world.svc.graduate(me)
    assert view.status is RegistrationStatus.DRAFT
    assert view.missing == ("phone_verified",)
    assert view.name == "李 四"
    assert view.expected_salary == 12000
    assert view.cities == ("北京", "上海")
    assert view.phone_masked == "139****0001"

    with pytest.raises(PhoneNotVerified):
        await world.svc.submit_registration(me)
    await world.svc.request_phone_code(me)
    assert (await world.svc.verify_phone(me, world.sms.last_code())).outcome is CodeOutcome.OK
    submitted = await world.svc.submit_registration(me)
    assert submitted.status is RegistrationStatus.SUBMITTED
    approved = await world.svc.approve_registration(world.university, me.id)
    assert approved.status is RegistrationStatus.APPROVED
    actions = [e.action for e in await world.audit()]
    assert actions == [
        "employer.register",
        "employer.register",
        "registration.consent",
        "registration.phone_verified",
        "registration.submit",
        "registration.approve",
    ]


async def test_a_rejected_registration_is_corrected_and_resubmitted(world):
    me = await world.graduate(approve=False)
    rejected = await world.svc.reject_registration(world.university, me.id, "  学号与学籍不符 ")
    assert rejected.status is RegistrationStatus.REJECTED
    assert (await world.svc.graduate(me)).reject_reason == "学号与学籍不符"

    await world.svc.save_field(me, "student_no", "2026999999")
    again = await world.svc.submit_registration(me)
    assert again.status is RegistrationStatus.SUBMITTED
    assert again.reject_reason is None
    approved = await world.svc.approve_registration(world.university, me.id)
    assert approved.status is RegistrationStatus.APPROVED

    async with world.core.sessions() as s:
        kinds = list(await s.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))
    assert kinds == ["registration_rejected", "registration_approved"]


async def test_a_rejection_needs_a_reason(world):
    me = await world.graduate(approve=False)
    with pytest.raises(InvalidInput, match="驳回原因"):
        await world.svc.reject_registration(world.university, me.id, "   ")
    assert (await world.svc.graduate(me)).status is RegistrationStatus.SUBMITTED


async def test_edits_are_refused_while_submitted_and_after_approval(world):
    me = await world.graduate(approve=False)
    with pytest.raises(InvalidState, match="等待学校审核"):
        await world.svc.save_field(me, "major", "数学")
    with pytest.raises(InvalidState):
        await world.svc.add_document(me, DocumentKind.TRANSCRIPT, "t.png", "image/png", PNG)
    # Submitting again while under review changes nothing and is not an error.
    assert (await world.svc.submit_registration(me)).status is RegistrationStatus.SUBMITTED
    await world.svc.approve_registration(world.university, me.id)
    with pytest.raises(InvalidState, match="已通过审核"):
        await world.svc.save_field(me, "major", "数学")
    with pytest.raises(InvalidState):
        await world.svc.submit_registration(me)
    assert (await world.svc.graduate(me)).major == "软件工程"


async def test_an_incomplete_registration_names_what_is_missing(world):
    g = await world.svc.begin_registration(9, 9, consent=True)
    me = Actor.graduate(g.id)
    await world.svc.save_field(me, "name", "王五")
    with pytest.raises(RegistrationIncomplete) as caught:
        await world.svc.submit_registration(me)
    assert "身份证号" in caught.value.message
    assert "证件材料" in caught.value.message
    assert "姓名" not in caught.value.message


async def test_a_bad_field_value_is_refused_and_the_old_value_kept(world):
    me = await world.graduate(submit=False)
    with pytest.raises(InvalidInput, match="11 位"):
        await world.svc.save_field(me, "phone", "12800138000")
    with pytest.raises(InvalidInput, match="校验位"):
        await world.svc.save_field(me, "id_number", id_number(1)[:-1] + "0")
    with pytest.raises(InvalidInput, match="没有找到这所学校"):
        await world.svc.save_field(me, "university", "不存在大学")
    with pytest.raises(InvalidInput):
        await world.svc.save_field(me, "nickname", "x")
    view = await world.svc.graduate(me)
    assert view.phone_masked == "139****0001"
    assert view.id_number_masked == "110***********" + id_number(1)[-4:]
    assert view.university == "示例大学"


async def test_a_changed_phone_must_be_verified_again(world):
    me = await world.graduate(approve=False)
    await world.svc.reject_registration(world.university, me.id, "请更正手机号")
    await world.svc.save_field(me, "phone", "+86 137-0000-0000")
    view = await world.svc.graduate(me)
    assert not view.phone_verified
    assert view.phone_masked == "137****0000"
    with pytest.raises(PhoneNotVerified):
        await world.svc.submit_registration(me)


async def test_an_id_number_registered_by_another_account_is_refused(world):
    await world.graduate(submit=False)
    g = await world.svc.begin_registration(77, 77, consent=True)
    other = Actor.graduate(g.id)
    with pytest.raises(DuplicateRecord, match="身份证号已在别的账号登记"):
        await world.svc.save_field(other, "id_number", id_number(1).lower())
    assert (await world.svc.graduate(other)).id_number_masked is None


async def test_a_student_number_taken_at_the_same_university_is_refused(world):
    await world.graduate(submit=False)
    g = await world.svc.begin_registration(78, 78, consent=True)
    other = Actor.graduate(g.id)
    await world.svc.save_field(other, "university", "示例大学")
    with pytest.raises(DuplicateRecord, match="学号"):
        await world.svc.save_field(other, "student_no", "2026000001")
    await world.svc.save_field(other, "university", "另一所大学")
    await world.svc.save_field(other, "student_no", "2026000001")


@pytest.mark.parametrize(
    ("data", "kind"), [(PNG, "image/png"), (JPEG, "image/jpeg"), (PDF, "application/pdf")]
)
async def test_documents_are_typed_by_their_content(world, data, kind):
    g = await world.svc.begin_registration(3, 3, consent=True)
    me = Actor.graduate(g.id)
    doc = await world.svc.add_document(
        me, DocumentKind.ID_CARD, "scan.bin", "application/octet-stream", data
    )
    assert doc.content_type == kind
    assert (await world.svc.graduate(me)).documents[0].content_type == kind


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "空的"),
        (EXE, "只支持"),
        (b"%PD", "只支持"),
        (b"%PDF-<html><script>alert(1)</script>", "只支持"),
        (b"\xff\xd8\xff" + b"MZ" + b"\x00" * 100, "只支持"),
        (PDF + b"\x00" * (10 * 1024 * 1024), "10 MB"),
    ],
)
async def test_bad_documents_are_refused(world, data, message):
    g = await world.svc.begin_registration(3, 3, consent=True)
    me = Actor.graduate(g.id)
    with pytest.raises(InvalidInput, match=message):
        await world.svc.add_document(me, DocumentKind.ID_CARD, "card.pdf", "application/pdf", data)
    assert (await world.svc.graduate(me)).documents == ()


async def test_a_document_of_exactly_ten_megabytes_is_accepted(world):
    g = await world.svc.begin_registration(3, 3, consent=True)
    me = Actor.graduate(g.id)
    tail = b"\n%%EOF\n"
    data = PDF + b"\x00" * (10 * 1024 * 1024 - len(PDF) - len(tail)) + tail
    doc = await world.svc.add_document(me, DocumentKind.TRANSCRIPT, "t.pdf", "x", data)
    assert doc.size == 10 * 1024 * 1024


async def test_a_stored_document_is_named_by_its_kind_and_real_type_not_by_the_sender(world):
    g = await world.svc.begin_registration(3, 3, consent=True)
    me = Actor.graduate(g.id)
    doc = await world.svc.add_document(
        me, DocumentKind.TRANSCRIPT, "<b>x</b>\u202egpj.exe", "application/x-msdownload", PDF
    )
    assert doc.file_name == "transcript-1.pdf" and doc.content_type == "application/pdf"
    png = await world.svc.add_document(
        me, DocumentKind.ID_CARD, "scan.pdf", "application/pdf", PNG
    )
    assert png.file_name == "id_card-2.png"


async def test_a_file_name_cannot_smuggle_a_path(world):
    g = await world.svc.begin_registration(3, 3, consent=True)
    me = Actor.graduate(g.id)
    doc = await world.svc.add_document(
        me, DocumentKind.ID_CARD, "../../etc/pass\nwd.png", "image/png", PNG
    )
    assert "/" not in doc.file_name and "\n" not in doc.file_name


async def test_a_graduate_removes_only_their_own_document(world):
    me = await world.graduate(submit=False)
    other = await world.graduate(submit=False)
    theirs = (await world.svc.graduate(other)).documents[0]
    with pytest.raises(NotFound):
        await world.svc.remove_document(me, theirs.id)
    mine = (await world.svc.graduate(me)).documents[0]
    await world.svc.remove_document(me, mine.id)
    assert "documents" in (await world.svc.graduate(me)).missing


async def test_review_is_refused_to_others_and_out_of_turn(world):
    me = await world.graduate(submit=False)
    with pytest.raises(InvalidState, match="填写中"):
        await world.svc.approve_registration(world.university, me.id)
    await world.svc.request_phone_code(me)
    await world.svc.verify_phone(me, world.sms.last_code())
    await world.svc.submit_registration(me)
    with pytest.raises(NotFound):
        await world.svc.approve_registration(world.other_university, me.id)
    with pytest.raises(Forbidden):
        await world.svc.approve_registration(world.employer, me.id)
    with pytest.raises(Forbidden):
        await world.svc.approve_registration(me, me.id)
    await world.svc.approve_registration(world.university, me.id)
    with pytest.raises(InvalidState):
        await world.svc.reject_registration(world.university, me.id, "晚了")


async def test_registration_calls_need_a_registered_graduate(world):
    with pytest.raises(NotRegistered):
        await world.svc.save_field(Actor.graduate(999), "name", "张三")
    with pytest.raises(Forbidden):
        await world.svc.save_field(world.employer, "name", "张三")


async def test_registrations_are_listed_by_status(world):
    await world.graduate()
    pending = await world.graduate(approve=False)
    listed = await world.svc.registrations(RegistrationStatus.SUBMITTED)
    assert [g.id for g in listed] == [pending.id]
    assert await world.svc.find_graduate("2026000002") == pending.id
    with pytest.raises(NotFound):
        await world.svc.find_graduate("1999")


async def test_the_id_number_is_stored_only_protected(world):
    me = await world.graduate(submit=False)
    value = id_number(1)
    async with world.core.sessions() as s:
        row = await s.get_one(Graduate, me.id)
        columns = {c.key: getattr(row, c.key) for c in Graduate.__table__.columns}
    for name, stored in columns.items():
        text = stored.decode("latin-1") if isinstance(stored, bytes) else str(stored)
        assert value not in text, name
        assert value[6:14] not in text, name  # not even the birth date
    assert columns["id_number_masked"] == value[:3] + "*" * 11 + value[-4:]
    assert world.core.protector.open(columns["id_number_sealed"]) == value


async def test_two_simultaneous_first_consents_bind_one_graduate(core):
    import asyncio

    views = await asyncio.gather(
        *(core.service.begin_registration(4242, 4242, consent=True) for _ in range(4))
    )
    assert len({v.id for v in views}) == 1


async def test_a_phone_verified_by_another_graduate_cannot_be_entered(world):
    number = "13700003333"
    g = await world.svc.begin_registration(70, 70, consent=True)
    owner = Actor.graduate(g.id)
    await world.svc.save_field(owner, "phone", number)
    await world.svc.request_phone_code(owner)
    assert (await world.svc.verify_phone(owner, world.sms.last_code())).ok

    g = await world.svc.begin_registration(71, 71, consent=True)
    with pytest.raises(DuplicateRecord, match="其他账号"):
        await world.svc.save_field(Actor.graduate(g.id), "phone", "+86 137-0000-3333")
    assert (await world.svc.graduate(Actor.graduate(g.id))).phone_masked is None


async def test_codes_to_one_number_are_limited_across_accounts(world):
    target = "13700001111"
    for n in range(5):
        g = await world.svc.begin_registration(900 + n, 900 + n, consent=True)
        me = Actor.graduate(g.id)
        await world.svc.save_field(me, "phone", target)
        await world.svc.request_phone_code(me)
    g = await world.svc.begin_registration(999, 999, consent=True)
    me = Actor.graduate(g.id)
    await world.svc.save_field(me, "phone", target)
    with pytest.raises(CodeRateLimited, match="这个手机号"):
        await world.svc.request_phone_code(me)


async def test_two_accounts_racing_to_verify_one_number_leave_one_owner(world):
    import asyncio

    target = "13700002222"
    actors = []
    for n in range(2):
        g = await world.svc.begin_registration(800 + n, 800 + n, consent=True)
        me = Actor.graduate(g.id)
        await world.svc.save_field(me, "phone", target)
        await world.svc.request_phone_code(me)
        actors.append((me, world.sms.last_code()))
        world.clock.advance(seconds=61)
    results = await asyncio.gather(
        *(world.svc.verify_phone(me, code) for me, code in actors), return_exceptions=True
    )
    assert sum(1 for r in results if not isinstance(r, Exception) and r.ok) == 1
    assert sum(1 for r in results if isinstance(r, DuplicateRecord)) == 1
