"""Saved e-mails (``.eml``) in the inbox: their spreadsheet attachments are submissions, received
at the message's ``Date``.

Each attachment is kept by content hash in :data:`MAIL_DIR` beside the ledger, so it stays counted
when the e-mail leaves the inbox. A message that cannot be read (no permission, bytes that are not
an e-mail, a broken encoding) is that message's :class:`MailError`, never the batch's.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import replacing
from ..errors import CchcError, user_message

MAIL_DIR = "thu-dien-tu"      # beside the ledger: attachments of saved e-mails, kept by content hash
MAIL_SEP = "#"                # ledger path of an attachment: "<e-mail path>#<attachment name>"
MAIL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
MAX_MAIL = 200 << 20          # a saved e-mail larger than this is not parsed (the parser holds it whole)


def is_mail(path: Path) -> bool:
    """An inbox entry that is a saved e-mail: it stands for its attachments."""
    return path.suffix.lower() == ".eml"


class MailError(CchcError):
    """A saved e-mail that cannot be read; the message says why, in Vietnamese."""


@dataclass
class Mail:
    sent: dt.datetime | None                                   # the Date header, local time
    attachments: list[tuple[Path, str]] = field(default_factory=list)   # (kept copy, name in the e-mail)
    notes: list[str] = field(default_factory=list)


def read_mail(path: Path, mail_dir: Path) -> Mail:
    """The spreadsheet attachments of the e-mail at ``path``, kept under ``mail_dir``."""
    import email.errors  # the e-mail package only for an inbox that holds e-mails
    import email.parser
    import email.policy

    try:
        if path.stat().st_size > MAX_MAIL:
            raise MailError(f"thư điện tử lớn hơn {MAX_MAIL >> 20} MB: không mở; hãy lưu riêng tệp đính kèm vào inbox")
        with open(path, "rb") as f:
            msg = email.parser.BytesParser(policy=email.policy.default).parse(f)
        mail = Mail(_sent(msg))
        if mail.sent is None:
            mail.notes.append("thư không có ngày gửi (Date) hợp lệ")
        for part in msg.iter_attachments():
            name = _filename(part)
            if not name.lower().endswith(MAIL_SUFFIXES):
                continue
            data = part.get_payload(decode=True) or b""
            if not data:
                mail.notes.append(f"tệp đính kèm {name} rỗng")
                continue
            target = mail_dir / f"{hashlib.sha256(data).hexdigest()}{Path(name).suffix.lower()}"
            if not target.exists():
                with replacing(target) as tmp:
                    tmp.write_bytes(data)
            mail.attachments.append((target, name))
    except OSError as exc:
        if target_dir_failed(exc, mail_dir):
            raise                   # our own folder (a full disk): the run's failure, not the e-mail's
        raise MailError(f"không đọc được thư điện tử ({user_message(exc)})") from None
    except (email.errors.MessageError, LookupError, UnicodeError, ValueError, TypeError, binascii.Error) as exc:
        raise MailError(f"thư điện tử bị hỏng, không đọc được ({type(exc).__name__}: {exc})") from None
    if not mail.attachments:
        mail.notes.append("thư không có tệp bảng tính đính kèm")
    return mail


def target_dir_failed(exc: OSError, mail_dir: Path) -> bool:
    return exc.filename is not None and str(exc.filename).startswith(str(mail_dir))


def _sent(msg) -> dt.datetime | None:
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(str(msg["Date"]))
    except (TypeError, ValueError, IndexError):
        return None
    return (when.astimezone() if when.tzinfo else when).replace(tzinfo=None, microsecond=0)


def _filename(part) -> str:
    """The attachment's own name, without any folders it claims (``../../x.xlsx`` is ``x.xlsx``)."""
    name = part.get_filename() or ""
    return name.replace("\\", "/").rsplit("/", 1)[-1].strip()
