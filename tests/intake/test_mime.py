"""Reading a mail: HTML made text through the sanitizer, and a mail's lasting identity."""

import pytest

from intake.mime import html_to_text, message_key, read_envelope
from reports.markdown import render_markdown
from tests.intake.mails import report_mail


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("<div>One</div><div>Two</div>", "One\nTwo"),
        ("One<br>Two<br><br>Three", "One\nTwo\n\nThree"),
        ("<pre>  indented\n    code</pre>", "indented\n    code"),
        (
            "<p>At <a href='https://x.example.test/'>https://x.example.test/</a></p>",
            "At https://x.example.test/",
        ),
        ("<ul><li>a</li><li>b</li></ul>", "- a\n- b"),
        ("<table><tr><td>key</td><td>value</td></tr></table>", "key value"),
        ("<p>Typed &lt;b&gt;bold&lt;/b&gt; as text</p>", "Typed <b>bold</b> as text"),
        ("<style>p{}</style><script>steal()</script><p>Only this</p>", "Only this"),
        ("<!-- a comment --><p>Text</p>", "Text"),
        ("<p>Unclosed <b>bold <i>and italic", "Unclosed bold and italic"),
    ],
)
def test_html_becomes_the_text_a_reader_sees(markup, text):
    assert html_to_text(markup) == text


def test_a_link_to_a_script_loses_its_address():
    text = html_to_text("<a href='javascript:alert(document.cookie)'>click</a>")

    assert text == "click"


def test_markup_typed_in_an_html_mail_shows_as_text_on_the_report_page():
    text = html_to_text("<p>&lt;img src=x onerror=alert(1)&gt;</p>")

    assert "<img" not in render_markdown(text)


def test_the_key_of_a_mail_with_a_message_id_is_its_message_id():
    one = read_envelope(report_mail(message_id="<a1@mail.example.test>", subject="One"))
    other = read_envelope(report_mail(message_id="<a1@mail.example.test>", subject="Other"))

    assert one.message_key == other.message_key
    assert one.message_key.startswith("message-id:")
    assert "a1@mail.example.test" not in one.message_key


def test_the_key_of_a_mail_without_message_id_is_its_bytes():
    lf, crlf = b"Subject: a\n\nbody\n", b"Subject: a\r\n\r\nbody\r\n"

    assert message_key(lf, "") == message_key(crlf, "")
    assert message_key(lf, "") != message_key(b"Subject: b\n\nbody\n", "")


def test_the_envelope_of_a_mail_without_headers_is_empty_not_an_error():
    envelope = read_envelope(b"just some bytes")

    assert (envelope.sender, envelope.subject, envelope.date) == ("", "", None)
