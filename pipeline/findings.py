"""The one record type for everything the pipeline finds wrong (or changes) in a return.

The validation log, the anomaly list and the reminders are all views of findings. A rule
is declared once in :data:`RULES` with its severity, its Chinese message template and the
advice a clerk can pass on; findings are made only through :func:`make`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_ZH = {"error": "错误（退回）", "warning": "警告", "info": "提示"}


@dataclass(frozen=True)
class Rule:
    severity: Severity
    message: str  # str.format template over the finding's context
    advice: str


RULES: dict[str, Rule] = {
    # Files that are not a usable workbook.
    "F-EMPTY": Rule("error", "文件为空（0字节）", "请重新保存邮件附件，或请报送单位重新发送。"),
    "F-TOO-LARGE": Rule(
        "error", "文件过大或压缩比异常（{value}）", "请报送单位使用下发的模板重新填写。"
    ),
    "F-DAMAGED": Rule("error", "文件已损坏，无法打开（{value}）", "请报送单位重新保存后发送。"),
    "F-COPYING": Rule(
        "error",
        "文件仍在复制或下载中（读取时大小在变化）",
        "请等文件保存完成后重新运行，无需联系报送单位。",
    ),
    "F-ENCRYPTED": Rule("error", "文件设置了打开密码", "请报送单位取消密码后重新发送。"),
    "F-LEGACY-XLS": Rule(
        "error",
        "文件是旧版 Excel（.xls）或 WPS（.et）格式",
        "请报送单位在下发的 .xlsx 模板中填写，保存为 .xlsx 格式后发送。",
    ),
    "F-NOT-XLSX": Rule(
        "error",
        "文件不是 Excel 工作簿（{value}）",
        "请报送单位在下发的 .xlsx 模板中填写，保存为 .xlsx 格式后发送（不要另存为网页、CSV 或其他格式）。",
    ),
    "F-MACRO": Rule(
        "error", "文件含有宏（VBA）", "请报送单位使用下发的模板（不含宏）填写，保存为 .xlsx。"
    ),
    "F-XML-DTD": Rule(
        "error",
        "文件内部含有 XML 实体声明（{value}），可能是恶意构造的文件，未读取",
        "请报送单位在下发的模板中填写，用 Excel 或 WPS 保存后重新发送。",
    ),
    "F-CONTENT-TYPES": Rule(
        "warning",
        "报送单位发来的文件在 Excel 中无法打开（{value}），数据已照常读取",
        "请告知报送单位此文件用 Excel 打不开，请其核对所报数字；今后请用 Excel 或 WPS 保存后再发送。",
    ),
    "F-WITHDRAWN": Rule(
        "warning",
        "本局已撤回该文件（{value}），不再计入",
        "无需处理；撤回有误的，请报送单位另存后重新发送（内容相同的文件不会再次读取）。",
    ),
    "F-ARCHIVE-NESTED": Rule(
        "error",
        "压缩包中又有压缩包（{value}），未解开",
        "请报送单位把报表（.xlsx）直接作为附件发送，或只压缩一层。",
    ),
    "F-ARCHIVE-EMPTY": Rule(
        "error",
        "压缩包中没有文件（{value}）",
        "请报送单位把填好的报表（.xlsx）作为附件重新发送。",
    ),
    "F-UNREADABLE": Rule(
        "error", "工作簿无法读取（{value}）", "请报送单位用 Excel 或 WPS 打开后重新保存为 .xlsx。"
    ),
    # Identification from the hidden metadata.
    "M-NO-META": Rule(
        "error",
        "不是本系统下发的报表模板（缺少模板信息）",
        "请报送单位使用下发的模板填写，不要复制到新建的工作簿中。",
    ),
    "M-CAMPAIGN": Rule(
        "error", "模板属于其他工作（{value}），不是“{expected}”", "请使用本次下发的模板。"
    ),
    "M-UNKNOWN-INST": Rule(
        "error",
        "机构代码“{value}”不在名册中",
        "请核对名册；如为新增机构，请先将其加入名册再重新运行。",
    ),
    "M-OUT-OF-SCOPE": Rule(
        "error",
        "本单位（{value}）不在“{expected}”的报送范围内",
        "请核对是否发错了报表；如确应报送，请在工作配置文件的 scope 中加入该机构级别。",
    ),
    "M-PERIOD": Rule(
        "error",
        "报表期间为{value}，本次汇总期间为{expected}",
        "如为补报，请运行 make PERIOD={value}（即 run --period {value}）；否则请报送单位使用本期模板。",
    ),
    "M-OWN-AGGREGATE": Rule(
        "error",
        "这是本局自己生成的汇总表，不是所属单位的报表",
        "请不要把 outbox 中的汇总表放入收件箱。",
    ),
    "M-VERSION": Rule(
        "error",
        "模板版本（{value}）与当前版本（{expected}）不符",
        "请报送单位使用本期下发的新模板重新填写。",
    ),
    "M-HEADER": Rule(
        "error",
        "表头内容“{value}”与模板信息（{expected}）不一致",
        "请报送单位使用本单位本期的模板，不要使用其他单位或其他月份的表格。",
    ),
    "M-SENDER": Rule(
        "warning",
        "报表由 {value} 发来，不是名册中本单位的电子邮箱（{expected}），已照常接收",
        "可能是个人邮箱：请与报送单位核实报表确由其报送；常用的邮箱可补入名册“电子邮箱”栏（多个用分号隔开）。",
    ),
    # Layout.
    "L-FINGERPRINT": Rule(
        "error",
        "模板格式标识（{value}）与本期模板（{expected}）不一致，可能是旧模板或被改动过的模板",
        "请报送单位使用本期下发的模板重新填写。",
    ),
    "L-VARIANT": Rule(
        "error",
        "汇总表声明的表格行数安排（{value}）与本工作的任务清单不符",
        "请下级单位用本工作当期的配置重新生成汇总表后报送，不要改动汇总表的行。",
    ),
    "L-SHEET-MISSING": Rule(
        "error",
        "缺少工作表“{expected}”（工作表可能被删除或改名）",
        "请报送单位使用下发的模板，不要删除或重命名工作表。",
    ),
    "L-SHEET-HIDDEN": Rule(
        "warning", "工作表“{expected}”被隐藏", "已照常读取；请提醒报送单位不要隐藏工作表。"
    ),
    "L-SHEET-COPY": Rule(
        "warning",
        "工作簿中另有工作表“{value}”，疑似数据表副本，未读取",
        "只读取“{expected}”；请报送单位确认数据填写在正确的工作表中。",
    ),
    "L-ROW-HIDDEN": Rule(
        "warning",
        "第{value}行被隐藏，其中的数据已照常读取",
        "请与报送单位确认隐藏行中的数据确应上报，并提醒其不要隐藏行。",
    ),
    "L-LABEL": Rule(
        "error",
        "此处应为“{expected}”，实际为“{value}”（可能插入、删除或移动了行列）",
        "请报送单位在下发的模板中填写，不要增删行列。",
    ),
    # Values typed into input cells.
    "V-PARSE": Rule("error", "“{value}”不是数字", "请填写确切的整数，没有请填0。"),
    "V-NEGATIVE": Rule("error", "数值{value}为负数", "请填写0或正整数。"),
    "V-INTEGER": Rule("error", "数值{value}不是整数", "隐患数、次数等应为整数，请更正。"),
    "V-MAX": Rule("error", "数值{value}超过上限{expected}", "请核对是否多输入了数字。"),
    "V-NOT-YOURS": Rule(
        "warning",
        "本栏不由本单位填写，填写的{value}不计入汇总",
        "本单位只填写{fills}栏目。",
    ),
    "V-TEXT-LONG": Rule(
        "warning", "文字长度{value}字，超过{expected}字", "已完整保存；请提醒精简。"
    ),
    "V-NEW-TASK": Rule(
        "warning",
        "新增任务行的“备注”未注明“{expected}”",
        "已按新增任务汇总；请提醒报送单位在备注中注明。",
    ),
    "V-NEW-TASK-EMPTY": Rule(
        "warning",
        "新增任务行填写了内容但没有写明任务名称",
        "已按新增任务汇总；请报送单位补充任务名称。",
    ),
    "V-STEP-BACK": Rule(
        "warning",
        "由{when}报送的“{expected}”退回为“{value}”",
        "请与报送单位核实：确实退回的，已按本期记录；填错的请其更正后重新发送。",
    ),
    "V-REQUIRED": Rule("error", "必填项未填写", "请报送单位补填后重新发送。"),
    "V-CHOICE": Rule(
        "error",
        "“{value}”不是可选的内容（可选：{expected}）",
        "请报送单位从下拉列表中选择后重新发送。",
    ),
    "V-RANGE": Rule("error", "数值{value}超出范围（{expected}）", "请核对后更正。"),
    "V-DATE": Rule("error", "“{value}”不是日期", "请填写日期，如 2026-07-03，更正后重新发送。"),
    "V-DATE-AMBIGUOUS": Rule(
        "error",
        "“{value}”无法确定是哪一天（年月日顺序不明或缺少日）",
        "请按“年-月-日”填写完整日期，如 2026-07-03，更正后重新发送。",
    ),
    "V-DATE-LATE": Rule(
        "error", "日期{value}晚于本期截止日{expected}", "请核对日期，未发生的事项不应填报。"
    ),
    "V-DATE-ORDER": Rule(
        "error", "日期{value}早于{expected}", "请核对两个日期的先后，更正后重新发送。"
    ),
    "V-DATE-AFTER": Rule(
        "error", "日期{value}晚于{expected}", "请核对两个日期的先后，更正后重新发送。"
    ),
    "V-INST": Rule("error", "“{value}”不是名册中的单位", "请填写名册中的单位名称或机构代码。"),
    # A register's items across periods.
    "R-ITEM-MISSING": Rule(
        "error",
        "编号{value}（{expected}）未填报：上期尚未整改完成的条目不能删除",
        "请报送单位在本期模板中保留该条目并更新其状态，更正后重新发送。",
    ),
    "R-ITEM-UNKNOWN": Rule(
        "error",
        "编号{value}不是本单位的条目（编号由系统生成，不能自行填写或从其他表格复制）",
        "请报送单位使用本期下发的模板填写，新增条目的编号留空。",
    ),
    "R-ITEM-DUPLICATE": Rule(
        "error",
        "编号{value}重复出现（{expected}已有）",
        "同一条目只填一行，请删除重复行后重新发送。",
    ),
    "R-ITEM-REOPENED": Rule(
        "warning",
        "该条目{expected}已报整改完成，本期又报“{value}”",
        "请与报送单位核实：确属问题反弹的，已按本期状态记录。",
    ),
    "R-ITEM-NEW": Rule(
        "error",
        "本表的条目由本局预填，不能新增（第{value}行）",
        "请报送单位只更新表中已有条目，删除新增的行后重新发送；确需新增的请联系本局。",
    ),
    "R-BUREAU-FIELD": Rule(
        "warning",
        "本栏由本局确定，报送单位改为“{value}”（本局为“{expected}”），未采用",
        "无需处理；如报送单位有异议，请与其沟通。",
    ),
    "X-RECONCILE": Rule(
        "warning",
        "“{register}”中{when}、{items}的有{value}条，本表填报{expected}",
        "请报送单位核对两表，下期更正；两表应一致。",
    ),
    "V-BLANK-RESEND": Rule(
        "error",
        "报表全部为空，而本单位本期已有填写了数据的报表",
        "空白报表不替代已有报表；如确需更正，请报送单位填写后重新发送。",
    ),
    "N-NORMALISED": Rule("info", "“{value}”按 {expected} 读取", "无需处理。"),
    # Derived cells (never trusted: recomputed and compared).
    "D-OVERWRITTEN": Rule(
        "error",
        "自动计算的单元格被改写为{value}，按所填数字应为{expected}",
        "请报送单位使用下发的模板重新填写，不要改动自动计算的单元格。",
    ),
    "D-CACHED": Rule(
        "error",
        "自动计算结果{value}与所填数字不符，应为{expected}（公式可能被篡改）",
        "请报送单位使用下发的模板重新填写。",
    ),
    "D-CUMULATIVE": Rule(
        "info",
        "表内累计总计{value}与台账累计{expected}不一致，以台账为准",
        "通常因上月报表更正所致，无需处理。",
    ),
    # Anomalies over the ledger and the month.
    "A-BLANK": Rule("warning", "报表全部为空", "请确认该单位本月确无数据，否则请其补填。"),
    "A-BLANK-CELLS": Rule(
        "warning",
        "{value}个应填单元格为空白，已按0计：{expected}",
        "请与报送单位确认这些项目本期确实为0（表中要求“没有请填0”）；有数字的请其补填后重新发送。",
    ),
    "A-MONTH-RATE": Rule(
        "info",
        "当月{num}{value}{unit}超过当月{den}{expected}{unit}（可能包括以前月份遗留的）",
        "无需处理。",
    ),
    "A-CUM-FIXED": Rule(
        "warning",
        "累计{num}{fixed}{unit}超过累计{den}{found}{unit}",
        "请核对该单位各月“{num}”数是否重复填报。",
    ),
    "A-SUM": Rule("warning", "合计{value}与各分项之和{expected}不一致", "请核对基础数据。"),
    "A-GAP": Rule(
        "warning",
        "未含{expected}的数据",
        "请催报；收到补报后先运行 make PERIOD={first}（缺几个月就各运行一次），再重新运行本月。",
    ),
    "A-GAP-START": Rule(
        "warning",
        "全部{value}家单位都未含{expected}的数据（本工具中没有这几个月的报表）",
        "如本局是在工作开始后才使用本工具的，请用 python -m pipeline baseline 导入各单位截至{last}的累计数（见 README：Baseline），不必让各单位补报。",
    ),
    "A-ZSCORE": Rule(
        "warning",
        "本月{value}与该单位以往各月（中位数{expected}）差异很大",
        "请与报送单位核实是否填错。",
    ),
    "A-ITEM-OVERDUE": Rule(
        "warning",
        "“{item}”已过{deadline}（{expected}）{value}天仍未完成",
        "请督促报送单位按期整改，逾期未改的按要求挂牌督办或约谈。",
    ),
    "A-TARGET-LATE": Rule(
        "warning",
        "{group}应于{date}前达到“{stage}”，目前为“{value}”，已逾期{days}天",
        "请督促该单位加快推进，并按方案要求通报。",
    ),
    "A-ABOVE": Rule(
        "warning", "数值{value}超过{expected}", "请与报送单位核实原因，督促其采取措施。"
    ),
    "A-BELOW": Rule(
        "warning", "数值{value}低于{expected}", "请与报送单位核实原因，督促其采取措施。"
    ),
    "A-STREAK": Rule(
        "warning",
        "“{item}”连续{expected}期为“{value}”（{when}）",
        "请督促该单位对照标准限期整改，并在督导时复查。",
    ),
    "A-RISING": Rule(
        "warning",
        "本期新增{value}条，上期{expected}条，环比上升",
        "请分析该类问题上升的原因，在督导和通报中重点关注。",
    ),
    "A-BEHIND": Rule(
        "warning",
        "“{item}”计划进度{plan}%，实际{value}%{missed}，滞后{days}天",
        "请督促责任单位制定赶工措施，并在工程推进会上通报。",
    ),
    "A-NOT-COVERED": Rule(
        "warning",
        "{window}未被督导（应“每周督导、半月覆盖”）",
        "请安排督导组尽快到该单位督导。",
    ),
    "A-MAJOR-OPEN": Rule(
        "warning",
        "累计{den}{found}{unit}，{num}{fixed}{unit}，尚未全部完成",
        "应挂牌督办，跟踪进度直至完成。",
    ),
}


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    advice: str
    file: str = ""
    sha256: str = ""
    institution: str = ""
    institution_name: str = ""
    form: str = ""
    period: str = ""
    sheet: str = ""
    cell: str = ""
    value: str = ""
    expected: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def where(self) -> str:
        """``附件2!G7`` style location, or the sheet alone, or nothing."""
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.sheet


def as_text(value: object) -> str:
    """A value as a finding shows it: whole numbers without '.0', fractions to 4 places."""
    return _text(value)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):  # a date typed where a number belongs
        return value.date().isoformat() if value.time() == dt.time() else str(value)
    if isinstance(value, float):
        if abs(value) >= 1e15:
            return format(value, ".6g")
        if value.is_integer():
            return str(int(value))
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def make(
    rule: str,
    *,
    value: object = "",
    expected: object = "",
    what: str = "",
    words: dict[str, str] | None = None,
    **where: Any,
) -> Finding:
    """Build a finding of ``rule``; ``what`` names the row/column in words for the message,
    ``words`` fills the rule's other placeholders (a form's own column names and unit)."""
    spec = RULES[rule]
    ctx = {**(words or {}), "value": _text(value), "expected": _text(expected)}
    message = spec.message.format(**ctx)
    if what:
        message = f"{what}：{message}"
    return Finding(
        rule=rule,
        severity=spec.severity,
        message=message,
        advice=spec.advice.format(**ctx),
        value=ctx["value"],
        expected=ctx["expected"],
        **where,
    )


def is_blocking(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)
