"""What the conversations say, in Simplified Chinese. Texts are Telegram HTML.

Placeholders filled with anything a user, employer or university wrote are escaped by the
caller (``bot.flows.format.esc``) before they reach these templates.
"""

from __future__ import annotations

# ------------------------------------------------------------------ general

WELCOME = (
    "你好，我是<b>网签助手</b>。\n"
    "1. 帮你完成信息确认，学校审核后就能网上签约；\n"
    "2. 收到签约邀请时通知你，逐条讲清条款，用短信验证码确认签约；\n"
    "3. 提醒截止时间，回答签约、违约和解约的常见问题。"
)
MENU_HINT = "请选择要做的事："
MENU_REGISTER = "开始信息确认"
MENU_CONTINUE_REGISTER = "继续信息确认"
MENU_STATUS = "我的状态"
MENU_INVITATIONS = "签约邀请"
MENU_AGREEMENT = "我的协议"
MENU_FAQ = "常见问题"
MENU_SETTINGS = "提醒设置"
MENU_HELP = "帮助"

HELP = (
    "<b>可以用的命令</b>\n"
    "/register 信息确认（注册）\n"
    "/status 我的状态和下一个截止时间\n"
    "/invitations 查看签约邀请\n"
    "/agreement 我已签的协议\n"
    "/breach 申请解约\n"
    "/faq 常见问题\n"
    "/settings 提醒设置\n"
    "/back 返回上一步　/cancel 退出当前操作\n\n"
    "直接发文字提问，我会在常见问题里找答案。"
)

GROUP_POINTER = "为保护个人信息，签约相关的事请在和我的私聊里办理：点我的头像，再点「发消息」。"
TOO_LONG = "消息太长了（{length} 字），请精简到 {limit} 字以内再发。"
INTERNAL_ERROR = "抱歉，出了点问题，没有完成这一步。请稍后再试；问题持续请联系学校就业指导中心。"
DOMAIN_ERROR = "{message}"
NEXT_STEP_MENU = "发送 /start 回到主菜单。"
UNKNOWN_COMMAND = "没有这个命令。发送 /help 查看可以用的命令。"
NOTHING_TO_CANCEL = "现在没有进行中的操作。"
CANCELLED = "已取消。发送 /start 回到主菜单。"
NOTHING_TO_GO_BACK = "现在没有可以返回的步骤。"
USED_BUTTON = "这个按钮已经用过了。"
FAQ_ALREADY_VOTED = "已经收到你的反馈。"
STALE_BUTTON = "这个按钮已失效，请重新打开。"
EMPTY_MESSAGE = "这条消息是空的。请直接打字提问，或发送 /help 查看可以用的命令。"
NOT_TEXT_HINT = "我只能读文字消息。请直接打字回复。"
NOT_TEXT_IN_STEP = "这里需要文字，请直接打字回复（{what}）。"
UPLOAD_NOT_EXPECTED = (
    "现在不需要上传文件。上传证件材料请在信息确认的「上传材料」一步进行（/register）。"
)
CONTACT_NOT_USED = "不需要分享联系人，手机号请在信息确认里填写（/register）。"
NO_CODE_PENDING = "现在没有等待验证码的操作。验证码只能用一次；需要签约请打开 /invitations。"
NOT_REGISTERED = "你还没有做信息确认。先完成信息确认，学校审核通过后就能签约。"
BUTTON_BACK = "上一步"
BUTTON_CANCEL = "取消"
BUTTON_MENU = "主菜单"

# ------------------------------------------------------------------ registration

CONSENT = (
    "<b>个人信息处理说明</b>\n"
    "信息确认需要收集你的姓名、身份证号、手机号、学籍信息、求职意向和证件材料，"
    "只用于学校审核和就业协议网签。身份证号加密保存，展示时只显示前 3 位和后 4 位；"
    "不会用于其他用途，也不会提供给与签约无关的人。\n\n"
    "同意后才能继续。"
)
CONSENT_AGREE = "同意并继续"
CONSENT_REFUSE = "不同意"
CONSENT_REFUSED = "好的，没有收集任何信息。想好了随时发送 /register。"
STEP_COUNTER = "第 {n}/{total} 步"
ASK_FIELD = "{counter}：请输入<b>{label}</b>。\n{example}"
CURRENT_VALUE = "当前填写：{value}"
# Each example passes its own check (tests/bot/flows/test_texts.py); {year} is this year.
FIELD_EXAMPLES = {
    "name": "例如：张三（与身份证一致）",
    "id_number": "例如：110101200307150024（18 位，最后一位可能是 X）",
    "phone": "例如：13800138000。稍后会发验证码到这个号码。",
    "university": "请点下面的学校名称，或直接输入全称。",
    "student_no": "例如：2026000001",
    "faculty": "例如：计算机学院",
    "major": "例如：软件工程",
    "education_level": "请点下面的选项。",
    "graduation_year": "例如：{year}",
    "industries": "例如：互联网、教育（最多 5 个，用顿号或逗号隔开）",
    "cities": "例如：北京、上海（最多 5 个）",
    "expected_salary": "例如：8000（元/月，税前）",
}
FIELD_SAVED_RETRY = "{message}\n请重新输入。"
PHONE_CODE_SENT = "验证码已发送到 {phone}，5 分钟内有效。请直接回复短信里的 6 位数字。"
PHONE_VERIFIED = "手机号验证成功。"
PHONE_CODE_ASK = "请回复短信里的 6 位数字验证码；没收到可以点「重新发送」。"
BUTTON_RESEND = "重新发送"
BUTTON_CHANGE_PHONE = "改手机号"
DOCS_PROMPT = (
    "<b>上传材料</b>：身份证、学生证、成绩单各一份（可以多张）。\n"
    "支持照片或 JPG、PNG、PDF 文件，每个不超过 10 MB。\n"
    "已上传：{uploaded}\n\n"
    "现在请上传<b>{kind}</b>；要传别的材料，先点下面的按钮选择。传完点「完成」。"
)
DOCS_NONE = "还没有"
DOCS_ALL_DONE = "三种材料都齐了。还要补传可以继续发，没有的话点「完成」。"
DOC_SAVED = "已收到{kind}：{name}。"
DOC_TOO_BIG = "文件超过 10 MB，请压缩或拍得小一些再传。"
DOCS_DONE_BUTTON = "完成"
DOCS_NEED_FILE = "这一步请发照片或文件（JPG、PNG、PDF）。传完点「完成」。"
SUMMARY_TITLE = "<b>请核对你的信息</b>"
SUMMARY_REJECTED = "学校未通过你的信息确认，原因：{reason}\n请修改后重新提交。"
SUMMARY_MISSING = "还缺：{items}"
SUMMARY_READY = "信息齐全，确认无误就点「提交审核」。要改哪项，点对应的按钮。"
SUMMARY_DOCS = "证件材料"
SUMMARY_PHONE_UNVERIFIED = "（未验证）"
SUBMIT_BUTTON = "提交审核"
SUBMITTED = "已提交，学校审核后我会通知你。审核期间信息不能修改；可以发送 /status 查看进度。"
REGISTRATION_PAUSED = "已退出信息确认。填过的内容都保存着，发送 /register 可以接着填。"
REGISTRATION_SUBMITTED = "你的信息已提交，正在等待学校审核，结果出来我会通知你。"
REGISTRATION_APPROVED = "你的信息已经通过学校审核，可以签约了。发送 /invitations 查看邀请。"
FIRST_STEP = "已经是第一步了。"

# ------------------------------------------------------------------ status

STATUS_TITLE = "<b>我的状态</b>"
STATUS_REGISTRATION = "信息确认：{label}"
STATUS_REJECT_REASON = "未通过原因：{reason}"
STATUS_HELD = "已签协议：{employer}｜{position}（{state}）"
STATUS_NO_HELD = "已签协议：暂无"
STATUS_OPEN = "待回复的邀请：{count} 份"
STATUS_NEXT_DEADLINE = "下一个截止：{label}，{when}"
STATUS_NO_DEADLINE = "近期没有截止事项。"

# ------------------------------------------------------------------ invitations

INVITATIONS_EMPTY = "还没有收到签约邀请。单位发出邀请后，我会第一时间通知你。"
INVITATIONS_TITLE = "<b>签约邀请</b>（共 {total} 份，第 {first}–{last} 份，新的在前）"
INVITATION_LINE = (
    "{n}. <b>{employer}</b>\n　{position}｜{city}｜月薪 {salary}\n　{state}{deadline}"
)
PAGE_PREV = "上一页"
PAGE_NEXT = "下一页"
BACK_TO_LIST = "返回列表"
CARD_TITLE = "<b>{employer}</b> 的签约邀请"
CARD_TITLE_HELD = "<b>{employer}</b> 的就业协议"
CHANGES_SINCE = "与第 {version} 版相比：{changes}"
CHANGES_NONE = "与第 {version} 版相比：条款没有变化"
CHANGE_FROM_TO = "{term} {old} → {new}"
CHANGE_POSITION = "岗位"
CHANGE_CITY = "工作地点"
CHANGE_SALARY = "月薪"
CHANGE_PROBATION = "试用期"
CHANGE_SERVICE = "服务期"
CHANGE_PENALTY = "违约金"
CHANGE_INSURANCE = "五险一金"
CHANGE_INSURANCE_YES = "缴纳"
CHANGE_INSURANCE_NO = "未承诺"
CHANGE_INSURANCE_NOTES = "五险一金说明有改动"
CHANGE_OTHER = "其他条款有改动"
MONTHS = "{n} 个月"
YEARS = "{n} 年"
CARD_VERSION = "第 {version} 版 · 摘要 {digest}"
CARD_STATE = "状态：{state}"
CARD_DEADLINE = "回复截止：{deadline}"
CARD_WARNINGS = "⚠️ 请注意："
CARD_LAST_REQUEST = "你提的修改意见：{text}"
TERM_POSITION = "岗位：{value}"
TERM_CITY = "工作地点：{value}"
TERM_SALARY = "月薪（税前）：{value}"
TERM_PROBATION = "试用期：{value} 个月"
TERM_SERVICE = "服务期：{value} 年"
TERM_PENALTY = "违约金：{value}"
TERM_INSURANCE_YES = "五险一金：缴纳"
TERM_INSURANCE_NO = "五险一金：未承诺"
TERM_INSURANCE_NOTES = "（{notes}）"
TERM_OTHER = "其他条款：{value}"
BUTTON_ACCEPT = "接受并签约"
BUTTON_CHANGE = "要求修改"
BUTTON_DECLINE = "拒绝"
TERMS_CHANGED = "条款已经更新，这是最新的第 {version} 版，请重新查看："
STATE_NOW = "这份邀请现在的状态是「{state}」，不能再这样操作。"
CHANGE_ASK = (
    "请写下希望「{employer}」修改的内容，一条消息发给我。\n"
    "例如：违约金希望降到 3000 元；试用期改为 3 个月。"
)
CHANGE_SENT = "已把你的修改意见转给「{employer}」。单位修改后，我会把新版本发给你。"
DECLINE_CONFIRM = "确定拒绝「{employer}」的邀请吗？拒绝后不能撤回。"
DECLINE_YES = "确定拒绝"
DECLINE_NO = "再想想"
DECLINED = "已拒绝「{employer}」的邀请。"
SIGN_CONFIRM = (
    "<b>签约前请再核对一遍全部条款</b>\n\n{card}\n\n"
    "确认签约后，协议对你有约束力，解约需要单位同意、学校审核，并可能要付违约金。\n"
    "点「确认签约」后，我会向你验证过的手机发送验证码。"
)
SIGN_CONFIRM_BUTTON = "确认签约，发送验证码"
SIGN_CODE_SENT = "验证码已发送到 {phone}，5 分钟内有效。请直接回复短信里的 6 位数字。"
SIGN_CODE_ASK = "请回复短信里的 6 位数字验证码；没收到可以点「重新发送」。"
SIGN_CANCELLED = "已取消签约。截止前可以在 /invitations 里重新打开这份邀请。"
SIGNED = (
    "✅ 签约成功（第 {version} 版）。\n"
    "接下来：「{employer}」需在 {seal_by} 前盖章，盖章后协议生效，再由学校备案。"
    "每一步我都会通知你；发送 /agreement 可以随时查看。"
)
CODE_WRONG = "验证码不对。这个验证码还能再试 {left} 次。"
CODE_WRONG_LAST = "验证码不对，这个验证码已作废。请点「重新发送」获取新的。"
CODE_EXPIRED = "验证码已过期（5 分钟有效）。请点「重新发送」获取新的。"
CODE_DEAD = "这个验证码输错太多次，已作废。请点「重新发送」获取新的。"
CODE_LOCKED = "验证码错误次数太多，为保护账号已暂停，请 {minutes} 分钟后再试。"
CODE_SUPERSEDED = "在你确认之前，单位修改了条款，原验证码已作废。请看新版本："
CODE_NONE = "还没有有效的验证码，请点「重新发送」。"
CODE_RESENT_WAIT = "{message}"

# ------------------------------------------------------------------ agreement and breach

AGREEMENT_NONE = "你还没有已签的协议。收到的邀请在 /invitations 里。"
AGREEMENT_TITLE = "<b>我的协议</b>：{employer}"
AGREEMENT_DIGEST = "版本：第 {version} 版\n摘要（SHA-256）：<code>{digest}</code>"
AGREEMENT_SIGNED_AT = "签约时间：{when}"
AGREEMENT_SEAL_BY = "单位盖章截止：{when}"
AGREEMENT_SEALED_AT = "单位盖章时间：{when}"
AGREEMENT_FILED_AT = "学校备案时间：{when}"
AGREEMENT_HISTORY = "<b>记录</b>"
HISTORY_LINE = "{when} {action}"
ACTIONS = {
    "agreement.invite": "单位发出邀请",
    "agreement.request_changes": "你要求修改条款",
    "agreement.revise": "单位修改了条款",
    "agreement.decline": "你拒绝了邀请",
    "agreement.withdraw": "单位撤回了邀请",
    "agreement.expire": "邀请已过期",
    "agreement.sign": "你用验证码确认签约",
    "agreement.seal": "单位盖章，协议生效",
    "agreement.file": "学校备案",
    "agreement.lapse": "单位未按时盖章，协议失效",
    "termination.request": "提出解约申请",
    "termination.consent": "对方同意解约",
    "termination.refuse": "对方不同意解约",
    "termination.approve": "学校批准解约",
}
BUTTON_BREACH = "申请解约"
BREACH_NONE = "你没有生效中的协议，不需要解约。"
BREACH_NOT_EFFECTIVE = (
    "单位还没有盖章，协议尚未生效。如果想放弃，请直接联系单位和学校就业指导中心。"
)
BREACH_INTRO = "<b>解约之前，请先了解后果</b>"
BREACH_PENALTY_LINE = "你的协议约定的违约金：{penalty}"
BREACH_CONTINUE = "继续申请解约"
BREACH_STOP = "先不解约"
BREACH_STOPPED = "好的，没有提交解约申请。"
BREACH_ASK_REASON = "请写下解约原因（1000 字以内），单位和学校都会看到。"
BREACH_REASON_EMPTY = "解约原因不能为空，请写下原因。"
BREACH_REASON_ECHO = "解约原因：{reason}"
BREACH_CODE_WAIT = (
    "原因已保存。验证码每分钟只能发一次（刚才已给你发过一条），"
    "请 {seconds} 秒后点「重新发送」获取解约验证码。"
)
BUTTON_RESEND_AFTER = "重新发送（{seconds} 秒后）"
BREACH_CODE_SENT = "验证码已发送到 {phone}，5 分钟内有效。回复 6 位数字即提交解约申请。"
BREACH_SUBMITTED = "解约申请已提交。"
TRACKING_TITLE = "<b>解约进度</b>：{employer}"
TRACKING_REQUESTED = (
    "① 提出申请 ✓（{by}）\n② 对方同意：等待中，答复截止 {respond_by}\n③ 学校审核：未开始"
)
TRACKING_AGREED = "① 提出申请 ✓\n② 对方同意 ✓（违约金 {penalty}）\n③ 学校审核：等待中"
TRACKING_DONE = "① 提出申请 ✓\n② 对方同意 ✓\n③ 学校审核 ✓ 已解约，可以接受新的邀请。"
BY_GRADUATE = "你提出"
BY_EMPLOYER = "单位提出"

# ------------------------------------------------------------------ settings

SETTINGS_TITLE = "<b>提醒设置</b>"
SETTINGS_REMINDERS_ON = "截止提醒：已开启（截止前 72、24、2 小时提醒，夜间不打扰）"
SETTINGS_REMINDERS_OFF = "截止提醒：已关闭（邀请、盖章等事件仍会通知你）"
SETTINGS_TURN_OFF = "关闭提醒"
SETTINGS_TURN_ON = "开启提醒"
SETTINGS_DEADLINES = "进行中的截止事项："
SETTINGS_DEADLINE_LINE = "• {label}：{when}{muted}"
SETTINGS_MUTED_MARK = "（不提醒）"
SETTINGS_MUTE = "不再提醒：{label}"
SETTINGS_UNMUTE = "恢复提醒：{label}"
SETTINGS_SAVED = "已保存"

# ------------------------------------------------------------------ FAQ

FAQ_MENU = "<b>常见问题</b>：请选择分类，或直接发文字提问。"
FAQ_CATEGORY = "<b>{title}</b>：请选择问题。"
FAQ_BACK = "返回分类"
FAQ_UNKNOWN_CONTACT = "有疑问可以联系 {contact}"
FAQ_STALE = "这个问题已经更新，请发送 /faq 重新选择。"


# ------------------------------------------------------------------ console

CONSOLE_INTRO = (
    "网签助手 · 终端对话\n"
    "直接打字聊天；按钮前有编号，输入编号或按钮文字即可点按；"
    "/upload 文件路径 上传材料；/quit 或 Ctrl-C 退出。\n"
    "短信验证码会打印在标准错误输出（[短信 → ...] 那一行）。"
)
CONSOLE_NEW_USER = (
    "你是新用户（编号 {user_id}），从信息确认开始。下次用 CONSOLE_USER_ID={user_id} 接着聊。"
)
CONSOLE_PUSH = "【通知】"
CONSOLE_TOAST = "（提示）{text}"
CONSOLE_EDITED = "（更新上一条）"
CONSOLE_NO_FILE = "找不到这个文件：{path}"
CONSOLE_UPLOAD_USAGE = "用法：/upload 文件路径，例如 /upload ~/身份证.jpg"
CONSOLE_EMPTY = "（空消息）请输入文字，或输入按钮前的编号；/help 查看命令。"
CONSOLE_NO_SUCH_BUTTON = "没有这个选项，请输入 1–{count} 之间的编号，或按钮上的文字："
CONSOLE_BYE = "再见。"
