from __future__ import annotations

import os
from pathlib import Path

import pytest

from channels_in.email.parse import email_parse
from channels_in.email.quotes import reply_split
from channels_in.email.tests.mails import CORPUS, corpus, mail

RAW_FOLDERS = ("chatwoot", "talon", "flanker", "mail-parser")


def _stdlib_messages() -> list[Path]:
    try:
        import test
    except ImportError:  # some distributions ship Python without its test package
        return []
    folder = Path(os.path.dirname(test.__file__)) / "test_email" / "data"
    return sorted(path for path in folder.glob("msg_*.txt"))


def _corpus_messages() -> list[Path]:
    return sorted(
        path
        for folder in RAW_FOLDERS
        for path in (CORPUS / folder).rglob("*")
        if path.is_file() and not path.name.endswith("_reply_text")
    )


ALL_MESSAGES = _corpus_messages() + _stdlib_messages()


def test_the_corpus_is_there() -> None:
    assert len(_corpus_messages()) > 200


@pytest.mark.parametrize("path", ALL_MESSAGES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_real_message_parses(path: Path) -> None:
    parsed = email_parse(path.read_bytes())

    assert parsed.message_id
    for value in (parsed.subject, parsed.text, parsed.html, parsed.reply_text):
        assert "\x00" not in value
        value.encode("utf-8")  # storable: no lone surrogates left from undecodable bytes
    assert "<script" not in parsed.html.lower()
    assert "javascript:" not in parsed.html.lower()
    for attachment in parsed.attachments:
        assert attachment.filename
        assert len(attachment.sha256) == 64


@pytest.mark.parametrize(
    ("name", "sender", "subject", "attachments"),
    [
        ("chatwoot/only_text.eml", "text@example.com", "test text only mail", 0),
        ("chatwoot/only_attachments.eml", "attach@example.com", "only attachments", 1),
        ("chatwoot/html_and_attachments.eml", "tejaswini@example.com", "attachment with html", 1),
        ("chatwoot/attachments_without_filename.eml", "test@gmail.com", "multiple attachments", 2),
        (
            "chatwoot/support_uppercase.eml",
            "SONY@theomnibox.com",
            "Discussion: Let's debate these attachments",
            2,
        ),
        ("chatwoot/mail_with_no_subject.eml", "sony@theomnibox.com", "", 2),
        ("chatwoot/non_utf_encoded_mail.eml", "example@gmail.com", "أهلين عميلنا الكريم", 0),
        ("mail-parser/mail_test_18", "comma.name@example.com", "Test for Comma and Name Bugs", 0),
        ("mail-parser/mail_test_12", "baoguan@hotmail.com", "代开各地增值税发票", 0),
    ],
)
def test_checked_fields(name: str, sender: str, subject: str, attachments: int) -> None:
    parsed = email_parse(corpus(name))

    assert parsed.sender is not None and parsed.sender.email == sender
    assert parsed.subject.startswith(subject)
    assert len(parsed.attachments) == attachments


def test_display_names_are_decoded() -> None:
    assert email_parse(corpus("chatwoot/non_utf_encoded_mail.eml")).sender.name == "متجر سوق نت"
    assert email_parse(corpus("mail-parser/mail_test_18")).sender.name == "LastßlName, FirstName"


def test_attachment_without_filename_gets_a_name() -> None:
    parsed = email_parse(corpus("chatwoot/attachments_without_filename.eml"))

    assert [(item.filename, item.content_type) for item in parsed.attachments] == [
        ("attachment-1.png", "image/png"),
        ("attachment-2.png", "image/png"),
    ]


def test_inline_images_keep_their_content_id() -> None:
    parsed = email_parse(corpus("chatwoot/mail_with_inline_images.eml"))

    inline = [item for item in parsed.attachments if item.inline]
    assert inline and all(item.content_id for item in inline)
    assert any(f"cid:{item.content_id}" in parsed.html for item in inline)


def test_missing_date_and_subject_are_empty_not_errors() -> None:
    assert email_parse(corpus("chatwoot/mail_with_no_date.eml")).date is None
    assert email_parse(corpus("chatwoot/mail_with_no_subject.eml")).subject == ""


@pytest.mark.parametrize(
    "date",
    ["Fri, 31 Dec 9999 23:59:59 -1400", "Sun, 14 Oct 1066 09:00:00 +0000", "Sat, 1 Jan 2000 10:00:00 +9900"],
)
def test_an_impossible_date_is_left_out_not_kept(date: str) -> None:
    raw = mail().replace(b"Date: ", b"X-Was-Date: ", 1).replace(b"\n\n", f"\nDate: {date}\n\n".encode(), 1)

    assert email_parse(raw).date is None


def test_html_only_mail_gets_plain_text() -> None:
    parsed = email_parse(corpus("chatwoot/only_html.eml"))

    assert parsed.html
    assert parsed.text.strip()
    assert "<" not in parsed.text


@pytest.mark.parametrize("client", ["iphone", "sparrow"])
def test_talon_reply_text(client: str) -> None:
    folder = CORPUS / "talon" / "standard_replies"
    expected = (folder / f"{client}_reply_text").read_text()
    parsed = email_parse((folder / f"{client}.eml").read_bytes())

    # Line-end whitespace is not part of what a reader sees (the expected file keeps "-- ").
    assert [line.rstrip() for line in parsed.reply_text.splitlines()] == [
        line.rstrip() for line in expected.strip().splitlines()
    ]


@pytest.mark.parametrize(
    "path",
    sorted((CORPUS / "talon" / "standard_replies").glob("*.eml")),
    ids=lambda path: path.stem,
)
def test_talon_replies_keep_only_the_new_text(path: Path) -> None:
    parsed = email_parse(path.read_bytes())

    assert parsed.reply_body == "Hello"
    assert "Hi" not in parsed.reply_text.split()


def test_signature_is_separated_from_the_reply() -> None:
    parsed = email_parse(corpus("talon/standard_replies/iphone.eml"))

    assert parsed.reply_body == "Hello"
    assert parsed.signature == "Sent from my iPhone"
    assert "On Apr 3, 2012" in parsed.text  # the full original stays available


def test_italian_reply_header() -> None:
    text = (
        "Grazie, ora funziona.\n\n"
        "Il giorno lun 3 mar 2025 alle ore 10:02 Supporto <support@example.com> ha scritto:\n"
        "> Provi a riavviare il modem.\n"
    )
    split = reply_split(text)

    assert split.reply == "Grazie, ora funziona."
    assert "riavviare" in split.quoted


@pytest.mark.parametrize(
    ("name", "visible"),
    [
        ("email_1_2.txt", "Hi,"),
        ("email_2_1.txt", "Outlook with a reply"),
        ("email_gmail.txt", "This is a test for inbox replying to a github message."),
        ("email_iPhone.txt", "Here is another email"),
    ],
)
def test_email_reply_parser_cases(name: str, visible: str) -> None:
    split = reply_split((CORPUS / "email-reply-parser" / name).read_text())

    assert split.body.startswith(visible)
    assert ">" not in split.body


@pytest.mark.parametrize("path", sorted((CORPUS / "quotequail").glob("*.html")), ids=lambda path: path.stem)
def test_quotequail_html_parses(path: Path) -> None:
    html = path.read_text(errors="replace")
    raw = mail(text="", html=html or "<p></p>")
    parsed = email_parse(raw)

    assert parsed.text.strip()
    assert "<script" not in parsed.html


def test_bounce_without_from_is_a_failed_delivery_report() -> None:
    parsed = email_parse(corpus("chatwoot/bounced_with_no_from.eml"))

    assert parsed.sender is None
    assert parsed.bounce is not None and parsed.bounce.kind == "failed"
    assert parsed.bounce.recipients == ["noreply@example-service.com"]
    assert parsed.bounce.status == "5.7.1"


@pytest.mark.parametrize("name", ["chatwoot/auto_reply.eml", "chatwoot/auto_reply_with_auto_submitted.eml"])
def test_auto_replies_are_flagged(name: str) -> None:
    parsed = email_parse(corpus(name))

    assert parsed.automatic
    assert parsed.bounce is None


def test_a_person_is_not_flagged() -> None:
    parsed = email_parse(corpus("chatwoot/only_text.eml"))

    assert parsed.automatic == ""
    assert parsed.bounce is None


@pytest.mark.parametrize(
    "name", ["flanker/bounce/mailbox-full.eml", "flanker/bounce/no-mx.eml", "flanker/bounce/office365.eml"]
)
def test_flanker_bounces(name: str) -> None:
    parsed = email_parse(corpus(name))

    assert parsed.bounce is not None
    assert parsed.bounce.recipients


def test_threading_headers_and_token() -> None:
    raw = mail(
        subject="Re: Ordine 1234 [#a1b2c3d4e5]",
        in_reply_to="<sportello.9.abc@example.com>",
        references="<first@example.com> <sportello.9.abc@example.com>",
    )
    parsed = email_parse(raw)

    assert parsed.ticket_token == "a1b2c3d4e5"
    assert parsed.thread_refs[0] == "sportello.9.abc@example.com"
    assert "first@example.com" in parsed.thread_refs


def test_token_from_plus_address() -> None:
    parsed = email_parse(mail(to="Support <support+0f0f0f0f0f@example.com>", subject="no tag here"))

    assert parsed.ticket_token == "0f0f0f0f0f"


@pytest.mark.parametrize(
    "path", sorted((CORPUS / "talon" / "html_replies").glob("*.html")), ids=lambda path: path.stem
)
def test_talon_html_replies_keep_only_the_new_text(path: Path) -> None:
    parsed = email_parse(mail(text="", html=path.read_text(errors="replace")))

    # Every client's reply says "Hi. I am fine." (mail.ru and Yandex sign it) above the quote.
    assert parsed.reply_body.startswith("Hi. I am fine.")
    assert "wrote" not in parsed.reply_text.lower()


@pytest.mark.parametrize(
    ("name", "reply"),
    [
        ("gmail_reply.html", "foo\n\nbar"),
        ("apple_reply.html", "Foo\n\nBar"),
        ("ios_mail_reply_unescaped_address.html", "Sounds good, I'll be there at 2."),
    ],
)
def test_quotequail_html_replies(name: str, reply: str) -> None:
    parsed = email_parse(mail(text="", html=(CORPUS / "quotequail" / name).read_text()))

    assert parsed.reply_body == reply


def test_read_receipt_is_automatic_but_not_a_bounce() -> None:
    parsed = email_parse(corpus("flanker/disposition-notification.eml"))

    assert parsed.bounce is None
    assert parsed.automatic
