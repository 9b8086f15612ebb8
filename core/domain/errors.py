"""Typed refusals. Every error has a stable code and a Chinese message fit for a graduate."""

from __future__ import annotations


class DomainError(Exception):
    """Root of every refusal the core service raises."""

    code: str = "domain.error"
    message: str = "操作未能完成，请稍后再试。"

    def __init__(self, message: str | None = None, **details: object) -> None:
        self.message = message or type(self).message
        self.details = details
        super().__init__(self.code)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class NotFound(DomainError):
    # Also raised when the object exists but belongs to someone else, so ids leak nothing.
    code = "not_found"
    message = "没有找到这条记录，或你无权查看。"


class Forbidden(DomainError):
    code = "forbidden"
    message = "你无权进行这个操作。"


class InvalidInput(DomainError):
    code = "invalid_input"
    message = "输入格式不正确。"

    def __init__(self, message: str | None = None, *, field: str = "", **details: object) -> None:
        super().__init__(message, field=field, **details)
        self.field = field


class InvalidState(DomainError):
    code = "invalid_state"
    message = "当前状态下不能进行这个操作。"


class NotRegistered(DomainError):
    code = "registration.missing"
    message = "请先完成信息确认（/register）。"


class NotApproved(DomainError):
    code = "registration.not_approved"
    message = "你的信息还没有通过学校审核，审核通过后才能签约。"


class RegistrationIncomplete(DomainError):
    code = "registration.incomplete"
    message = "信息还没有填完整。"


class ConsentRequired(DomainError):
    code = "registration.consent_required"
    message = "需要先同意个人信息处理说明，才能继续。"


class PhoneNotVerified(DomainError):
    code = "registration.phone_unverified"
    message = "手机号还没有验证。"


class AlreadyHolding(DomainError):
    code = "agreement.already_holding"
    message = "你已经有一份已签或生效中的协议，需先完成解约才能再签。"


class DeadlinePassed(DomainError):
    code = "agreement.deadline_passed"
    message = "已经过了截止时间。"


class CodeRateLimited(DomainError):
    code = "otp.rate_limited"
    message = "验证码发送太频繁，请稍后再试。"

    def __init__(self, message: str | None = None, *, retry_after_s: int = 60) -> None:
        super().__init__(message, retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s


class CodeLocked(DomainError):
    code = "otp.locked"
    message = "验证码错误次数过多，请一小时后再试。"

    def __init__(self, message: str | None = None, *, retry_after_s: int = 3600) -> None:
        super().__init__(message, retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s


class DeliveryFailed(DomainError):
    code = "otp.delivery_failed"
    message = "短信暂时发送失败，请稍后再试。"


class DuplicateRecord(DomainError):
    code = "duplicate"
    message = "这条记录已经存在。"


class CreditCodeInvalid(InvalidInput):
    code = "employer.credit_code_invalid"
    message = "统一社会信用代码校验未通过。"
