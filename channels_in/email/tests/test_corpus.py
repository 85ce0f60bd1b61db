"""Every file of the shared real-mail corpus is read without raising, into something a person can use.

The corpus (``shared/corpora/email``, its README and LICENSES say where each folder comes from) sits
beside the repository: ``../shared/corpora/email`` from the repository root, as CI clones it.
``TEST_EMAIL_CORPUS`` points elsewhere (a checkout whose shared folder lives elsewhere). Missing, the
tests skip, and fail under ``CI=true``.
"""

from __future__ import annotations

import email
import os
import re
from pathlib import Path

import pytest

from channels_in.base import PayloadError
from channels_in.email.adapter import inbound_from_parsed
from channels_in.email.parse import email_parse
from channels_in.email.schemas import mailbox_config
from tickets.inbound import DeliveryStatus

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED_CORPUS = Path(os.environ.get("TEST_EMAIL_CORPUS") or REPO_ROOT.parent / "shared" / "corpora" / "email")
_NOT_MAIL = {"README.md", "README", ".keep"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONFIG = mailbox_config({"address": "support@sportello.example"})


def _corpus_files() -> list[Path]:
    if not SHARED_CORPUS.is_dir():
        return []
    return sorted(
        path
        for path in SHARED_CORPUS.rglob("*")
        if path.is_file() and path.name not in _NOT_MAIL and "LICENSES" not in path.parts
    )


FILES = _corpus_files()


def test_the_shared_corpus_is_there() -> None:
    if not FILES:
        message = f"the email corpus is missing: {SHARED_CORPUS}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    assert len(FILES) > 300


def _has_body(raw: bytes) -> bool:
    """Whether the standard library's parser finds anything but whitespace below the headers."""
    payload = email.message_from_bytes(raw).get_payload()
    return bool(payload) if isinstance(payload, list) else bool(str(payload or "").strip())


@pytest.mark.parametrize("path", FILES, ids=lambda path: str(path.relative_to(SHARED_CORPUS)))
def test_every_corpus_file_is_read(path: Path) -> None:
    raw = path.read_bytes()
    parsed = email_parse(raw)

    assert parsed.message_id
    assert not _CONTROL.search(parsed.subject), "a subject is one line of text"
    for value in (parsed.subject, parsed.text, parsed.html, parsed.reply_text):
        value.encode("utf-8")  # storable: no lone surrogates
    if _has_body(raw) and not parsed.refused:
        assert parsed.text.strip() or parsed.attachments, "a mail with a body has text or attachments"
    for attachment in parsed.attachments:
        name = attachment.filename
        assert name and len(name) <= 255
        assert "/" not in name and "\\" not in name and not _CONTROL.search(name)
        assert name not in {".", ".."}
    try:
        message = inbound_from_parsed(parsed, account_id=1, config=_CONFIG)
    except PayloadError as refusal:
        assert "sender" in str(refusal) or "cannot be read" in str(refusal)
    else:
        if isinstance(message, DeliveryStatus):
            assert message.state in {"failed", "delayed", "complaint"}
            assert all("@" in address for address in message.recipients)
        else:
            assert "@" in message.sender.value and not _CONTROL.search(message.sender_name)


def _corpus_mail(name: str) -> bytes:
    path = SHARED_CORPUS / name
    if not path.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the email corpus is missing: {path}")
        pytest.skip(f"the email corpus is missing: {path}")
    return path.read_bytes()


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("flanker/bilingual-simple.eml", "Simple text. How are you? Как ты поживаешь?"),
        ("mail-parser/mail_test_6", "Быстрее вкладывайте в золото!"),
    ],
)
def test_folded_encoded_subjects_of_the_corpus(name: str, subject: str) -> None:
    assert email_parse(_corpus_mail(name)).subject == subject


def test_a_gb2312_subject_holding_gbk_of_the_corpus() -> None:
    subject = email_parse(_corpus_mail("mail-parser/mail_test_9")).subject

    assert subject.startswith("我把镜头拉近些")
    assert "\ufffd" not in subject and " " not in subject


def test_raw_utf8_names_of_the_corpus() -> None:
    parsed = email_parse(_corpus_mail("flanker/russian-attachment-yahoo.eml"))
    name = parsed.attachments[0].filename
    assert name.startswith("Картинка") and "очень, очень длинным предлинным" in name

    sender = email_parse(_corpus_mail("flanker/mailformed-headers.eml")).sender
    assert sender is not None and sender.name.startswith("Юникод запрещен")


def test_report_parts_of_the_corpus_have_readable_names() -> None:
    parsed = email_parse(_corpus_mail("flanker/bounce/zed.eml"))

    assert [item.filename for item in parsed.attachments] == ["Delivery report.txt", "test bounce.eml"]
