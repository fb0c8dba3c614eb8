"""Mailing a report: one multipart/alternative message (text + HTML) over SMTP.

The password never comes from the command line: only from DRIFTAUDIT_SMTP_PASSWORD or a
file (``--smtp-password-file``), and it is never printed.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from driftaudit.errors import ConfigError, DriftauditError

PASSWORD_ENV = "DRIFTAUDIT_SMTP_PASSWORD"


class MailError(DriftauditError):
    """The SMTP server could not be reached or refused the message."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    security: str = "none"  # none | starttls | ssl
    user: str | None = None
    password_file: Path | None = None
    timeout: float = 30.0

    def password(self) -> str | None:
        if self.password_file is not None:
            try:
                return self.password_file.read_text(encoding="utf-8").strip()
            except OSError as e:
                raise ConfigError(f"--smtp-password-file {self.password_file}: {e.strerror}") from e
        return os.environ.get(PASSWORD_ENV)


def check_address(value: str, option: str) -> str:
    """``value`` when it can go into a mail header as it is. A line break would end the
    header and start another (``a@example.com\r\nBcc: ...``: header injection), so control
    and line-separator characters are refused, never stripped."""
    bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Zl", "Zp")), None)
    if bad is not None:
        raise ConfigError(
            f"{option} {value!r}: a mail address cannot hold a control character or line "
            f"break ({bad!r})"
        )
    if not parseaddr(value)[1]:
        raise ConfigError(f"{option} {value!r}: not a mail address")
    return value


def check_label(value: str, option: str) -> str:
    """``value`` when it can go into a subject as it is: no control character or line
    break (a header injection), at most 80 characters, as driftaudit.yaml's schema says."""
    bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Zl", "Zp")), None)
    if bad is not None:
        raise ConfigError(
            f"{option} {value!r}: a subject cannot hold a control character or line break ({bad!r})"
        )
    if len(value) > 80:
        raise ConfigError(f"{option}: at most 80 characters ({len(value)} given)")
    return value


def build_message(
    subject: str, sender: str, recipients: list[str], text: str, html: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="driftaudit.local")
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def send(msg: EmailMessage, settings: SmtpSettings) -> None:
    where = f"{settings.host}:{settings.port}"
    try:
        if settings.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with smtp:
            if settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.user:
                password = settings.password()
                if password is None:
                    raise ConfigError(
                        f"--smtp-user given but no password: set {PASSWORD_ENV} "
                        "or use --smtp-password-file"
                    )
                smtp.login(settings.user, password)
            refused = smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as e:
        raise MailError(f"SMTP {where} refused every recipient: {', '.join(e.recipients)}") from e
    except smtplib.SMTPResponseException as e:
        text = (
            e.smtp_error.decode("utf-8", "replace")
            if isinstance(e.smtp_error, bytes)
            else e.smtp_error
        )
        # A bad password is not a refused message: say which one the server turned down.
        what = (
            f"the login of {settings.user!r}"
            if isinstance(e, smtplib.SMTPAuthenticationError)
            else "the message"
        )
        raise MailError(f"SMTP {where} refused {what}: {e.smtp_code} {text}") from e
    except smtplib.SMTPException as e:
        raise MailError(f"SMTP {where}: {e}") from e
    except OSError as e:
        raise MailError(f"cannot reach SMTP server {where}: {e.strerror or e}") from e
    if refused:
        raise MailError(f"SMTP {where} refused some recipients: {', '.join(sorted(refused))}")
