"""``cchc_xl remind``: who has to be chased, and the reminder letter (công văn đôn đốc).

The list: every expected submission that is missing, late, held, rejected or whose counted file
has errors (status and verdict as the roll-up has them, from ``build_rollup_data``). A file with
problems gets its annotated copy — the copy ``validate --annotate`` writes
(``<name>_kiem-tra.xlsx``, :mod:`cchc_xl.validate.annotate`) — in the inbox's ``kiem-tra/`` folder,
which ``merge`` never reads (or ``--annotate DIR``). An existing copy newer than its file is used
as it is; otherwise it is written, through the validator's bounded reader processes.

The letter is issued by the secretariat (Sở Nội vụ, under the UBND tỉnh), "Kính gửi" the units
listed, with the list as a table, after Nghị định 30/2020/NĐ-CP (:mod:`.admin_document`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from docx.shared import Mm

from ..config.period import Period
from ..config.workspace import Workspace
from ..labels import ANNOTATED_DIR, STATUS_LABELS
from ..merge.mail import MAIL_DIR, MAIL_SEP
from ..merge.model import Submission
from ..validate.annotate import annotated_name
from ..validate.batch import validate_files
from .admin_document import TEXT_WIDTH_MM, AdminDocument, DocumentHeading
from .provincial_report import period_phrase, place_name
from .round_facts import RoundFacts, open_round, submission_key

REASONS = {
    "missing": "Chưa gửi báo cáo",
    "late": "Gửi trễ hạn",
    "errors": "Báo cáo còn lỗi",
    "held": "Tệp tạm giữ (chưa xác thực được)",
    "rejected": "Tệp bị từ chối (không đọc được)",
}
ASK = {
    "missing": "gửi báo cáo",
    "late": "lưu ý gửi đúng hạn ở các kỳ sau",
    "errors": "sửa các ô được đánh dấu trong bản kiểm tra gửi kèm rồi gửi lại",
    "held": "gửi lại đúng tệp biểu mẫu đã được cấp (không chép sang tệp khác)",
    "rejected": "gửi lại tệp đọc được (định dạng .xlsx)",
}


@dataclass
class Reminder:
    submission: str
    unit_code: str
    unit_name: str
    owner: str
    reasons: list[str]                  # keys of REASONS
    status: str                         # STATUS_LABELS
    days_late: int = 0
    errors: int = 0
    missing_tables: list[str] = field(default_factory=list)
    file: str | None = None
    annotated: str | None = None        # the annotated copy to send back
    note: str = ""

    @property
    def name(self) -> str:
        return self.unit_name if self.submission == self.unit_code else f"{self.unit_name} ({self.owner})"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["reasons_text"] = [REASONS[r] for r in self.reasons]
        return d


@dataclass
class RemindResult:
    path: str
    period: str
    expected: int
    reminders: list[Reminder]

    def as_dict(self) -> dict:
        return {"path": self.path, "period": self.period, "expected": self.expected,
                "units": [r.as_dict() for r in self.reminders]}


def _reasons(s: Submission) -> list[str]:
    out = []
    if s.status in ("missing", "held", "rejected", "late"):
        out.append(s.status)
    if s.status in ("on_time", "late") and (s.verdict == "errors" or s.missing_codes):
        out.append("errors")
    return out


def _source_file(facts: RoundFacts, s: Submission) -> Path | None:
    """The received file on disk (a saved e-mail's attachment is kept beside the ledger)."""
    if not s.file:
        return None
    if MAIL_SEP in s.file and s.file_hash:
        name = s.file.split(MAIL_SEP, 1)[1]
        kept = facts.ledger_file.parent / MAIL_DIR / f"{s.file_hash}{Path(name).suffix.lower()}"
        return kept if kept.is_file() else None
    p = Path(s.file)
    return p if p.is_file() else None


def reminders(facts: RoundFacts, annotate_dir: Path) -> list[Reminder]:
    out = []
    for s in facts.data.submissions:
        reasons = _reasons(s)
        if not reasons:
            continue
        held = s.held[-1].file if s.status == "held" and s.held else None
        out.append(Reminder(submission_key(s), s.unit_code, s.unit_name, s.owner, reasons,
                            STATUS_LABELS.get(s.status, s.status), s.days_late, s.errors, list(s.missing_codes),
                            held or s.file))
    _annotated_copies(facts, out, annotate_dir)
    return out


def _annotated_copies(facts: RoundFacts, items: list[Reminder], annotate_dir: Path) -> None:
    """The annotated copy of every listed file with problems: the existing one when newer than the
    file, else written now (validate's own reader processes and annotator)."""
    subs = {submission_key(s): s for s in facts.data.submissions}
    todo: dict[Path, list[Reminder]] = {}
    for r in items:
        if not ({"errors", "held", "rejected"} & set(r.reasons)):
            continue
        s = subs[r.submission]
        src = _source_file(facts, s) if r.file == s.file else (Path(r.file) if r.file and Path(r.file).is_file()
                                                                 else None)
        if src is None:
            r.note = "tệp gốc không còn trong thư mục nhận: không lập được bản đánh dấu lỗi"
            continue
        target = annotate_dir / annotated_name(src)
        if target.is_file() and target.stat().st_mtime >= src.stat().st_mtime:
            r.annotated = str(target)
        else:
            todo.setdefault(src, []).append(r)
    if not todo:
        return
    files = list(todo)
    for src, report in zip(files, validate_files(files, facts.workspace, facts.period, annotate_dir=annotate_dir)):
        written = report.stats.get("annotated")
        for r in todo[src]:
            r.annotated = written
            if not written:
                r.note = "tệp không có lỗi để đánh dấu"


def letter_symbol(secretariat: str) -> str:
    """"Sở Nội vụ tỉnh Lạng Sơn" → "SNV-CCHC" (the secretariat's initials, its CCHC office)."""
    body = re.split(r"\s+(?:tỉnh|thành phố)\s+", secretariat, maxsplit=1, flags=re.IGNORECASE)[0]
    initials = "".join(w[0] for w in body.split() if w[:1].isalpha()).upper()
    return f"{initials or 'SNV'}-CCHC"


def remind_path(facts: RoundFacts) -> Path:
    ws = facts.workspace
    base = ws.rollup if ws.root else facts.ledger_file.parent / "rollup"
    return base / f"don-doc_{ws.province.id}_{facts.period}.docx"


def write_reminder(ws: Workspace, period: Period, out: Path | None = None,
                   annotate_dir: Path | None = None) -> RemindResult:
    with open_round(ws, period) as facts:
        target_dir = Path(annotate_dir) if annotate_dir else ws.inbox / ANNOTATED_DIR
        items = reminders(facts, target_dir)
        path = Path(out) if out else remind_path(facts)
        _letter(facts, items).save(path)
        return RemindResult(str(path), str(period), len(facts.data.submissions), items)


def _letter(facts: RoundFacts, items: list[Reminder]) -> AdminDocument:
    prov = facts.workspace.province.info
    d = facts.data
    secretariat = re.split(r"\s+(?:tỉnh|thành phố)\s+", prov.secretariat, maxsplit=1, flags=re.IGNORECASE)[0]
    heading = DocumentHeading(
        superior=f"UBND {prov.name}", issuer=[secretariat], symbol=letter_symbol(prov.secretariat),
        place=place_name(prov.name), year=d.generated_at.year, kind=None,
        summary=f"V/v đôn đốc gửi báo cáo cải cách hành chính {period_phrase(d.period)}",
        recipients=["Như trên", "UBND tỉnh (b/c)", "Lãnh đạo Sở", "Lưu: VT, CCHC"],
        authority=["KT. Giám đốc", "Phó Giám đốc"],
        draft_note=f"Dự thảo do cchc_xl lập lúc {d.generated_at:%H:%M} ngày {d.generated_at:%d/%m/%Y} từ sổ theo dõi.")
    doc = AdminDocument(heading)
    names = list(dict.fromkeys(r.name for r in items))
    if len(names) == 1:
        doc.paragraph(f"Kính gửi: {names[0]}.", indent=False, align="center", after=2)
    else:
        doc.paragraph("Kính gửi:", indent=False, after=0)
        targets = names or ["Các cơ quan, đơn vị thuộc diện báo cáo"]
        for i, n in enumerate(targets):
            p = doc.paragraph(f"- {n}{'.' if i == len(targets) - 1 else ';'}", indent=False, after=0, align="left")
            p.paragraph_format.left_indent = Mm(22)
    received = sum(1 for s in d.submissions if s.status in ("on_time", "late"))
    doc.paragraph(
        f"Thực hiện chế độ báo cáo công tác cải cách hành chính {period_phrase(d.period)} (hạn gửi báo cáo ngày "
        f"{d.deadline:%d/%m/%Y}), đến {d.generated_at:%H:%M} ngày {d.generated_at:%d/%m/%Y}, {secretariat} đã nhận "
        f"và tổng hợp {received}/{len(d.submissions)} báo cáo. Các cơ quan, đơn vị sau chưa gửi báo cáo, gửi trễ hạn "
        "hoặc báo cáo còn lỗi:", before=8)
    if items:
        rows = []
        for i, r in enumerate(items, 1):
            state = "; ".join(REASONS[k] + (f" ({r.days_late} ngày)" if k == "late" and r.days_late else "")
                              + (f" ({r.errors} lỗi)" if k == "errors" and r.errors else "") for k in r.reasons)
            if r.missing_tables:
                state += f"; còn thiếu biểu {', '.join(r.missing_tables)}"
            ask = "; ".join(ASK[k] for k in r.reasons)
            attached = Path(r.annotated).name if r.annotated else "—"
            rows.append([str(i), r.name, state, ask, attached])
        doc.table([[("TT", 1), ("Cơ quan, đơn vị", 1), ("Tình trạng", 1), ("Đề nghị", 1), ("Bản đánh dấu lỗi gửi kèm", 1)]],
                  rows, (9, 42, 40, 42, TEXT_WIDTH_MM - 133), size=11, align_right_from=99)
    else:
        doc.paragraph("Tất cả các cơ quan, đơn vị đã gửi báo cáo đúng hạn, không có lỗi.", italic=True)
    doc.paragraph(
        f"{secretariat} đề nghị các cơ quan, đơn vị có tên trên khẩn trương hoàn thành, gửi báo cáo (hoặc bản đã sửa "
        f"lỗi) về {secretariat} trước ngày ……………… để tổng hợp, báo cáo UBND tỉnh. Khi sửa lỗi, dùng đúng tệp biểu mẫu "
        "đã được cấp; các ô có lỗi được tô màu và ghi chú trong bản đánh dấu lỗi gửi kèm.", before=6)
    doc.paragraph(f"Thông tin liên hệ: {prov.contact}.")
    doc.paragraph(f"{secretariat} đề nghị các cơ quan, đơn vị quan tâm thực hiện./.")
    doc.closing()
    return doc
