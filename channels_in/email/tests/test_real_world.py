"""Real-world mail that breaks the rules the way clients and servers break them, read as a person would."""

from __future__ import annotations

import base64
from email.utils import make_msgid

import pytest

from channels_in.email.parse import email_parse, message_id_of
from channels_in.email.tests.mails import delivery_report, mail


def _raw(headers: list[str] | str, body: bytes = b"Buongiorno\r\n", *, head: bytes = b"") -> bytes:
    lines = [headers] if isinstance(headers, str) else headers
    return head + "\r\n".join(lines).encode() + b"\r\n\r\n" + body


def _word(text: str, charset: str = "utf-8", encoding: str = "utf-8") -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(encoding)).decode()}?="


# Folded encoded words: the fold between two words is no space in the text.


def test_a_subject_folded_between_encoded_words_is_one_line() -> None:
    subject = f"{_word('Ihre Anfrage: kurze Be')}\r\n {_word('wertung des Auftrags')}"
    parsed = email_parse(_raw(["From: kunde@example.de", f"Subject: {subject}"]))

    assert parsed.subject == "Ihre Anfrage: kurze Bewertung des Auftrags"


def test_a_folded_cjk_subject_is_not_split() -> None:
    subject = f"{_word('我们的订单')}\r\n\t{_word('还没有到达')}"
    parsed = email_parse(_raw(["From: kehu@example.cn", f"Subject: {subject}"]))

    assert parsed.subject == "我们的订单还没有到达"


def test_folded_plain_and_encoded_words_keep_their_spaces() -> None:
    subject = f"Re: la fattura\r\n {_word('è sbagliata')}\r\n di nuovo"
    parsed = email_parse(_raw(["From: a@example.it", f"Subject: {subject}"]))

    assert parsed.subject == "Re: la fattura è sbagliata di nuovo"


def test_a_folded_display_name_is_one_name() -> None:
    sender = f"{_word('Giovanni Bat')}\r\n {_word('tista Rossi')} <g@example.it>"
    parsed = email_parse(_raw([f"From: {sender}", "Subject: ciao"]))

    assert parsed.sender is not None
    assert parsed.sender.name == "Giovanni Battista Rossi"


# Charsets labelled with the name of the smaller set they extend.


@pytest.mark.parametrize(
    ("label", "codec", "text"),
    [
        ("gb2312", "gbk", "张喆先生的发票"),
        ("GB2312", "gb18030", "堃昇的订单"),
        ("ks_c_5601-1987", "cp949", "똠방각하 주문"),
        ("shift_jis", "cp932", "髙橋様①のご注文"),
        ("big5", "big5hkscs", "嗰張單"),
        ("iso-8859-1", "cp1252", "Prezzo 10\u20ac \u2013 \u201cofferta\u201d"),
    ],
)
def test_an_encoded_word_is_read_with_the_superset_of_its_label(label: str, codec: str, text: str) -> None:
    parsed = email_parse(_raw(["From: a@example.com", f"Subject: {_word(text, label, codec)}"]))

    assert parsed.subject == text


def test_a_body_labelled_gb2312_holding_gbk_is_read_as_gb18030() -> None:
    body = "张喆先生\uff0c您好".encode("gbk")
    raw = _raw(["From: a@example.cn", "Subject: x", "Content-Type: text/plain; charset=gb2312"], body)

    assert email_parse(raw).text.strip() == "张喆先生\uff0c您好"


# Raw 8-bit headers in a legacy charset.


def test_raw_gb2312_header_is_read_with_the_body_charset() -> None:
    raw = (
        b"From: "
        + "张先生".encode("gb2312")
        + b" <zhang@example.cn>\r\nSubject: "
        + "订单没有到达".encode("gb2312")
        + b"\r\nContent-Type: text/plain; charset=gb2312\r\n\r\n"
        + "请帮忙查一下".encode("gb2312")
    )
    parsed = email_parse(raw)

    assert parsed.subject == "订单没有到达"
    assert parsed.sender is not None and parsed.sender.name == "张先生"
    assert parsed.text.strip() == "请帮忙查一下"


def test_raw_shift_jis_header_is_read_with_the_body_charset() -> None:
    raw = (
        b"From: a@example.jp\r\nSubject: "
        + "お問い合わせの件".encode("shift_jis")
        + b"\r\nContent-Type: text/plain; charset=Shift_JIS\r\n\r\nbody"
    )

    assert email_parse(raw).subject == "お問い合わせの件"


def test_raw_windows_1251_header_without_a_declared_charset_is_detected() -> None:
    raw = (
        b"From: "
        + "Иван Петров".encode("cp1251")
        + b" <ivan@example.ru>\r\nSubject: "
        + "Заказ не пришёл, помогите пожалуйста".encode("cp1251")
        + b"\r\n\r\nbody"
    )
    parsed = email_parse(raw)

    assert parsed.subject == "Заказ не пришёл, помогите пожалуйста"
    assert parsed.sender is not None and parsed.sender.name == "Иван Петров"


def test_raw_utf8_header_stays_utf8_whatever_the_body_says() -> None:
    raw = (
        "From: a@example.it\r\nSubject: Perché non è arrivato?\r\n"
        "Content-Type: text/plain; charset=windows-1252\r\n\r\n"
    ).encode() + "già".encode("cp1252")
    parsed = email_parse(raw)

    assert parsed.subject == "Perché non è arrivato?"
    assert parsed.text.strip() == "già"


def test_raw_8bit_attachment_name_is_read_like_the_headers() -> None:
    name = "Счёт на оплату.pdf"
    raw = (
        b"From: a@example.ru\r\nSubject: "
        + "Счёт".encode("cp1251")
        + b'\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
        b"Content-Type: text/plain; charset=windows-1251\r\n\r\n"
        + "Добрый день".encode("cp1251")
        + b'\r\n--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="'
        + name.encode("cp1251")
        + b'"\r\n\r\n%PDF-1.4\r\n--B--\r\n'
    )

    assert [item.filename for item in email_parse(raw).attachments] == [name]


# A junk line before the headers.


@pytest.mark.parametrize(
    "head",
    [b"---- Original message ----\r\n", b"\r\n", b"-----Messaggio originale-----\r\n\r\n", b">From x\n"],
)
def test_junk_lines_before_the_headers_are_skipped(head: bytes) -> None:
    parsed = email_parse(head + mail())

    assert parsed.sender is not None and parsed.sender.email == "maria@example.com"
    assert parsed.subject == "Ordine 1234 non arrivato"
    assert "Original message" not in parsed.text
    assert parsed.text.strip() == "Buongiorno, il mio ordine non è ancora arrivato."


def test_text_without_headers_stays_text() -> None:
    parsed = email_parse(b"Hello,\r\nthis is not a mail.\r\nRegards: Maria\r\n")

    assert parsed.sender is None
    assert "this is not a mail." in parsed.text


# Two From headers.


def test_the_first_from_with_an_address_is_the_sender() -> None:
    raw = _raw(
        [
            "From: unknown sender",
            "From: Maria Rossi <maria@example.com>",
            "Reply-To: noreply@forwarder.example",
            "Subject: x",
        ]
    )
    parsed = email_parse(raw)

    assert parsed.sender is not None
    assert (parsed.sender.name, parsed.sender.email) == ("Maria Rossi", "maria@example.com")


def test_of_two_valid_froms_the_first_wins() -> None:
    raw = _raw(["From: first@example.com", "From: second@example.com", "Subject: x"])

    assert email_parse(raw).sender.email == "first@example.com"  # type: ignore[union-attr]


# Unnamed parts get names a person can open.


def test_a_delivery_report_has_readable_part_names() -> None:
    parsed = email_parse(delivery_report(recipient="gone@example.org", original_message_id="m1@example.com"))

    names = {item.content_type: item.filename for item in parsed.attachments}
    assert names["message/delivery-status"] == "Delivery report.txt"
    assert names["text/rfc822-headers"] == "Original message headers.txt"


def _forward(inner: bytes) -> bytes:
    return _raw(
        ["From: b@example.com", "Subject: Fwd", 'Content-Type: multipart/mixed; boundary="B"'],
        b"--B\r\nContent-Type: text/plain\r\n\r\nsee\r\n--B\r\nContent-Type: message/rfc822\r\n\r\n"
        + inner
        + b"--B--\r\n",
    )


def test_a_forwarded_message_is_named_after_its_subject() -> None:
    inner = b"From: a@example.com\r\nSubject: Fattura / marzo: 2024\tbis\r\n\r\nla fattura\r\n"

    attachments = email_parse(_forward(inner)).attachments
    assert [item.filename for item in attachments] == ["Fattura _ marzo_ 2024 bis.eml"]


def test_a_forwarded_message_with_an_encoded_subject_is_named_after_it() -> None:
    inner = f"From: a@example.com\r\nSubject: {_word('Perché ../../etc')}\r\n\r\nx\r\n".encode()

    assert [item.filename for item in email_parse(_forward(inner)).attachments] == ["Perché .._.._etc.eml"]


def test_a_forwarded_message_without_subject_is_named() -> None:
    inner = b"From: a@example.com\r\n\r\nno subject here\r\n"

    assert [item.filename for item in email_parse(_forward(inner)).attachments] == ["Forwarded message.eml"]


@pytest.mark.parametrize(
    ("content_type", "name"),
    [
        ("application/vnd.ms-excel", "attachment-1.xls"),
        ("application/zip", "attachment-1.zip"),
        ("audio/x-wav", "attachment-1.wav"),
        ("image/png", "attachment-1.png"),
        ("application/x-never-heard-of", "attachment-1.bin"),
    ],
)
def test_an_unnamed_part_gets_the_extension_of_its_type(content_type: str, name: str) -> None:
    raw = _raw(
        ["From: b@example.com", "Subject: x", 'Content-Type: multipart/mixed; boundary="B"'],
        b"--B\r\nContent-Type: text/plain\r\n\r\nsee\r\n--B\r\n"
        + f"Content-Type: {content_type}\r\nContent-Disposition: attachment\r\n".encode()
        + b"Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--B--\r\n",
    )

    assert [item.filename for item in email_parse(raw).attachments] == [name]


# Comments are not names.


@pytest.mark.parametrize(
    ("sender", "name"),
    [
        ("Maria Rossi <maria@example.com (Sales)>", "Maria Rossi"),
        ("Maria (ufficio) Rossi <maria@example.com>", "Maria Rossi"),
        ("(via portal) Maria Rossi <maria@example.com>", "Maria Rossi"),
        ("Maria Rossi <maria@example.com> (Sales)", "Maria Rossi"),
        ("Mária (ufficio (Roma)) Rossi <maria@example.com>", "Mária Rossi"),
        ('"Maria (Roma)" <maria@example.com>', "Maria (Roma)"),
        # The old form "address (Full Name)": the comment is the only name there is.
        ("maria@example.com (Maria Rossi)", "Maria Rossi"),
        ("maria@example.com (Mária Rossi)", "Mária Rossi"),
    ],
)
def test_comments_are_stripped_from_display_names(sender: str, name: str) -> None:
    parsed = email_parse(f"From: {sender}\r\nSubject: x\r\n\r\nhi\r\n".encode())

    assert parsed.sender is not None
    assert (parsed.sender.name, parsed.sender.email) == (name, "maria@example.com")


def test_an_unclosed_comment_keeps_the_address() -> None:
    parsed = email_parse(b"From: Maria (Rossi <maria@example.com>\r\nSubject: x\r\n\r\nhi\r\n")

    assert parsed.sender is not None and parsed.sender.email == "maria@example.com"


def test_message_id_of_a_mail_with_a_banner() -> None:
    message_id = make_msgid(domain="example.com")
    parsed = email_parse(b"---- Original message ----\r\n" + mail(message_id=message_id))

    assert parsed.message_id == message_id.strip("<>")
    assert message_id_of(b"---- Original message ----\r\n" + mail(message_id=message_id)) == parsed.message_id


def test_a_utf8_name_cut_inside_a_character_stays_utf8() -> None:
    name = "Картинка очень длинным именем".encode()[:-1]  # the last letter's second byte lost
    raw = _raw(
        ["From: a@example.ru", "Subject: x", 'Content-Type: multipart/mixed; boundary="B"'],
        b"--B\r\nContent-Type: text/plain\r\n\r\nsee\r\n--B\r\n"
        b'Content-Type: image/png\r\nContent-Disposition: attachment; filename="' + name + b'"\r\n'
        b"\r\nPNG\r\n--B--\r\n",
    )

    assert [item.filename for item in email_parse(raw).attachments] == ["Картинка очень длинным имене\ufffd"]


def test_a_utf8_header_with_a_stray_byte_stays_utf8() -> None:
    raw = b"From: " + "Юникод запрещен".encode() + b"\xf1 <a@example.com>\r\nSubject: x\r\n\r\nhi\r\n"

    assert email_parse(raw).sender.name == "Юникод запрещен\ufffd"  # type: ignore[union-attr]
