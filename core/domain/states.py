"""States of agreements, registrations and codes."""

from __future__ import annotations

from enum import StrEnum


class AgreementState(StrEnum):
    INVITED = "invited"
    CHANGES_REQUESTED = "changes_requested"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    GRADUATE_SIGNED = "graduate_signed"
    EFFECTIVE = "effective"
    FILED = "filed"
    LAPSED = "lapsed"
    TERMINATION_REQUESTED = "termination_requested"
    TERMINATION_AGREED = "termination_agreed"
    TERMINATED = "terminated"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


# States in which the agreement binds the graduate: at most one per graduate.
HELD_STATES = frozenset(
    {
        AgreementState.GRADUATE_SIGNED,
        AgreementState.EFFECTIVE,
        AgreementState.FILED,
        AgreementState.TERMINATION_REQUESTED,
        AgreementState.TERMINATION_AGREED,
    }
)

# States in which the graduate still has to answer the invitation.
OPEN_STATES = frozenset({AgreementState.INVITED, AgreementState.CHANGES_REQUESTED})

STATE_LABELS = {
    AgreementState.INVITED: "待回复",
    AgreementState.CHANGES_REQUESTED: "已要求修改",
    AgreementState.DECLINED: "已拒绝",
    AgreementState.WITHDRAWN: "单位已撤回",
    AgreementState.EXPIRED: "已过期",
    AgreementState.GRADUATE_SIGNED: "已签约，待单位盖章",
    AgreementState.EFFECTIVE: "已生效",
    AgreementState.FILED: "已备案",
    AgreementState.LAPSED: "单位未按时盖章，已失效",
    AgreementState.TERMINATION_REQUESTED: "解约申请中",
    AgreementState.TERMINATION_AGREED: "对方已同意解约，待学校审核",
    AgreementState.TERMINATED: "已解约",
}


class RegistrationStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {
            "draft": "填写中",
            "submitted": "已提交，等待学校审核",
            "approved": "已通过审核",
            "rejected": "未通过审核",
        }[self.value]


class EducationLevel(StrEnum):
    JUNIOR_COLLEGE = "专科"
    BACHELOR = "本科"
    MASTER = "硕士研究生"
    DOCTOR = "博士研究生"


class DocumentKind(StrEnum):
    ID_CARD = "id_card"
    STUDENT_CARD = "student_card"
    TRANSCRIPT = "transcript"

    @property
    def label(self) -> str:
        return {"id_card": "身份证", "student_card": "学生证", "transcript": "成绩单"}[self.value]


class CodePurpose(StrEnum):
    PHONE = "phone"
    SIGN = "sign"
    TERMINATE = "terminate"


class ActorKind(StrEnum):
    GRADUATE = "graduate"
    EMPLOYER = "employer"
    UNIVERSITY = "university"
    SYSTEM = "system"
