"""OpenPGP on intake: the program's key kept under the master key and published, encrypted mail
(PGP/MIME and inline) decrypted into reports, and what each signature says recorded."""

from io import StringIO

import pysequoia
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from pysequoia import Cert, Tsk
from pysequoia.packet import PacketPile

from intake import pgp, services
from intake.models import IntakeMessage, ProgramKey
from reports.models import Message, Report
from tests.factories import ReporterFactory, UserFactory
from tests.intake.mails import PNG, TEXT
from tests.intake.pgp_mails import (
    entity,
    inline_pgp_mail,
    pgp_mime_mail,
    pgp_mime_wrapping,
    signed_mail,
)

pytestmark = pytest.mark.django_db

State = IntakeMessage.State
Signature = IntakeMessage.Signature


@pytest.fixture(autouse=True)
def _reference_program(program):
    return program


@pytest.fixture
def program_key() -> ProgramKey:
    return pgp.generate_program_key("Security <security@example.test>")


@pytest.fixture
def program_cert(program_key) -> Cert:
    return Cert.from_bytes(program_key.public_key.encode())


@pytest.fixture
def carol() -> Tsk:
    """The researcher's own key pair; her public key is on file with the desk."""
    key = Tsk.generate("Carol Mailer <carol@example.test>")
    ReporterFactory(
        user=UserFactory(email="carol@example.test"),
        email="carol@example.test",
        pgp_public_key=str(key.extract_certificate()),
    )
    return key


def ingest(raw: bytes) -> IntakeMessage:
    return services.ingest_raw(raw).message


def internal_notes(report) -> list[str]:
    return [
        message.body for message in report.messages.filter(visibility=Message.Visibility.INTERNAL)
    ]


def test_generating_the_key_keeps_its_secret_part_encrypted_and_never_prints_it(settings):
    out = StringIO()
    call_command("program_pgp_key", "generate", stdout=out)

    key = ProgramKey.objects.get()
    assert key.is_active
    assert key.fingerprint.upper() in out.getvalue()
    assert "PRIVATE" not in out.getvalue()
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_key, public_key FROM intake_programkey")
        stored_secret, stored_public = cursor.fetchone()
    assert "PRIVATE KEY" not in stored_secret
    assert key.secret_key.startswith("-----BEGIN PGP PRIVATE KEY BLOCK-----")
    assert key.secret_key not in stored_secret
    assert "PUBLIC KEY" in stored_public and "PRIVATE" not in stored_public
    tags = {str(packet.tag) for packet in PacketPile.from_bytes(stored_public.encode())}
    assert "Tag.PublicKey" in tags and not tags & {"Tag.SecretKey", "Tag.SecretSubkey"}


def test_show_prints_the_fingerprint_and_public_key_only(program_key):
    out = StringIO()
    call_command("program_pgp_key", "show", stdout=out)

    assert program_key.fingerprint.upper() in out.getvalue()
    assert "-----BEGIN PGP PUBLIC KEY BLOCK-----" in out.getvalue()
    assert "PRIVATE" not in out.getvalue()


def test_show_without_a_key_says_how_to_make_one():
    with pytest.raises(CommandError, match="program_pgp_key generate"):
        call_command("program_pgp_key", "show", stdout=StringIO())


def test_a_new_key_retires_the_old_one_which_still_decrypts(program_key, program_cert):
    old_mail = pgp_mime_mail(program_cert, inner=entity("Sent to the old key."))

    call_command("program_pgp_key", "generate", stdout=StringIO())

    assert ProgramKey.objects.filter(is_active=True).count() == 1
    old = ProgramKey.objects.get(pk=program_key.pk)
    assert not old.is_active and old.retired_at is not None
    message = ingest(old_mail)
    assert message.state == State.PROCESSED
    assert message.report.description == "Sent to the old key."


def test_importing_a_secret_key_makes_it_the_programs(tmp_path):
    tsk = Tsk.generate("Security <security@example.test>")
    path = tmp_path / "secret.asc"
    path.write_text(str(tsk))

    call_command("program_pgp_key", "import", str(path), stdout=StringIO())

    key = ProgramKey.objects.get(is_active=True)
    assert key.fingerprint == tsk.extract_certificate().fingerprint
    assert key.secret_key == str(tsk)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"not a key at all", "not an OpenPGP secret key"),
        ("public", "That is a public key"),
    ],
)
def test_importing_what_cannot_decrypt_is_refused(tmp_path, content, reason):
    if content == "public":
        content = bytes(str(Tsk.generate("x").extract_certificate()), "ascii")
    path = tmp_path / "key.asc"
    path.write_bytes(content)

    with pytest.raises(CommandError, match=reason):
        call_command("program_pgp_key", "import", str(path), stdout=StringIO())
    assert not ProgramKey.objects.exists()


def test_the_public_key_is_served_as_plain_text_with_cache_headers(client, program_key):
    response = client.get("/security/pgp-key.txt")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "public" in response["Cache-Control"] and "max-age=3600" in response["Cache-Control"]
    served = response.content.decode()
    assert "PRIVATE" not in served
    assert Cert.from_bytes(served.encode()).fingerprint == program_key.fingerprint


def test_without_a_key_there_is_no_key_to_serve_and_security_txt_names_none(client):
    assert client.get("/security/pgp-key.txt").status_code == 404
    assert "Encryption:" not in client.get("/.well-known/security.txt").content.decode()


def test_security_txt_names_the_key_by_absolute_url(client, program_key, settings):
    text = client.get("/.well-known/security.txt").content.decode()

    assert f"Encryption: {settings.SITE_URL}/security/pgp-key.txt\n" in text


def test_a_pgp_mime_report_becomes_a_report_of_its_plaintext_and_files(program_cert):
    inner = entity(TEXT, attachments=[("proof.png", PNG, "image/png")])
    message = ingest(pgp_mime_mail(program_cert, inner=inner))

    assert message.state == State.PROCESSED, message.error
    report = message.report
    assert report.description == TEXT
    assert [a.original_name for a in report.attachments.all()] == ["proof.png"]
    assert report.channel == Report.Channel.EMAIL
    assert (message.encrypted, message.signature) == (True, Signature.UNSIGNED)
    assert internal_notes(report) == [
        "The mail was OpenPGP-encrypted and decrypted on intake. Signature: Not signed."
    ]


def test_a_subject_protected_inside_the_encryption_is_the_title(program_cert):
    # As Thunderbird sends it: "..." outside, the real subject in the encrypted part.
    inner = entity().replace(
        b"Content-Type: text/plain",
        b"Subject: Account takeover through password reset\r\nContent-Type: text/plain",
        1,
    )

    message = ingest(pgp_mime_mail(program_cert, inner=inner, subject="..."))

    assert message.report.title == "Account takeover through password reset"


def test_an_inline_pgp_report_becomes_a_report_of_its_plaintext(program_cert):
    message = ingest(inline_pgp_mail(program_cert, text="Stored XSS in the profile page."))

    assert message.state == State.PROCESSED, message.error
    assert "Stored XSS in the profile page." in message.report.description
    assert "BEGIN PGP MESSAGE" not in message.report.description
    assert message.encrypted


def test_a_report_signed_by_the_senders_key_records_a_good_signature(program_cert, carol):
    message = ingest(pgp_mime_mail(program_cert, signer=carol.signer()))

    assert message.state == State.PROCESSED, message.error
    fingerprint = carol.extract_certificate().fingerprint
    assert (message.signature, message.signature_key) == (Signature.GOOD, fingerprint)
    assert message.report.description == TEXT
    assert (
        f"Good signature by the sender's key (key {fingerprint.upper()})"
        in (internal_notes(message.report)[0])
    )


def test_an_inline_report_signed_by_the_sender_records_a_good_signature(program_cert, carol):
    message = ingest(inline_pgp_mail(program_cert, signer=carol.signer()))

    assert message.signature == Signature.GOOD


def test_a_signature_by_a_key_not_on_file_is_an_unknown_key(program_cert):
    stranger = Tsk.generate("Someone <carol@example.test>")

    message = ingest(pgp_mime_mail(program_cert, signer=stranger.signer()))

    assert message.state == State.PROCESSED
    assert message.signature == Signature.UNKNOWN_KEY
    assert message.report.description == TEXT


def test_a_signature_by_another_researchers_key_is_not_good_for_this_sender(program_cert, carol):
    # Carol's key is on file, but the mail comes from Dave: her signature proves nothing of his.
    message = ingest(
        pgp_mime_mail(program_cert, signer=carol.signer(), sender="Dave <dave@example.test>")
    )

    assert message.signature == Signature.UNKNOWN_KEY


def test_a_signed_mail_changed_after_signing_records_a_bad_signature(carol):
    def tamper(signed):
        return signed.replace(b"fetches any URL", b"fetches no URL!")

    message = ingest(signed_mail(carol.signer(), tamper=tamper))

    assert message.state == State.PROCESSED
    assert (message.encrypted, message.signature) == (False, Signature.BAD)
    assert "fetches no URL!" in message.report.description
    assert internal_notes(message.report)[0].startswith(
        "The mail was OpenPGP-signed, not encrypted. Signature: Bad signature"
    )


def test_a_signed_mail_left_as_it_was_records_a_good_signature(carol):
    message = ingest(signed_mail(carol.signer()))

    assert message.signature == Signature.GOOD
    assert message.report.description == TEXT


def test_signed_then_encrypted_records_the_inner_signature(program_cert, carol):
    inner = signed_mail(carol.signer()).split(b"MIME-Version: 1.0\r\n", 1)[1]

    message = ingest(pgp_mime_mail(program_cert, inner=inner))

    assert message.state == State.PROCESSED, message.error
    assert (message.encrypted, message.signature) == (True, Signature.GOOD)
    assert message.report.description == TEXT


def test_a_tampered_ciphertext_is_failed_with_its_reason_and_the_raw_kept(program_cert):
    ciphertext = bytearray(pysequoia.encrypt(bytes=entity(), recipients=[program_cert]))
    body_line = ciphertext.index(b"\n\n") + 40
    ciphertext[body_line] = ord("A") if ciphertext[body_line] != ord("A") else ord("B")
    raw = pgp_mime_wrapping(bytes(ciphertext))

    message = ingest(raw)

    assert message.state == State.FAILED
    assert "none of the program's keys decrypts it" in message.error
    assert "Stack backtrace" not in message.error
    assert not Report.objects.exists()
    with IntakeMessage.objects.get(pk=message.pk).raw.open() as stored:
        assert stored.read() == raw


def test_a_mail_encrypted_to_another_key_is_failed_saying_so(program_key):
    someone_else = Tsk.generate("Other <other@example.test>").extract_certificate()

    message = ingest(pgp_mime_mail(someone_else))

    assert message.state == State.FAILED
    assert "none of the program's keys decrypts it" in message.error


def test_an_encrypted_mail_with_no_program_key_says_how_to_import_one():
    someone = Tsk.generate("Other <other@example.test>").extract_certificate()

    message = ingest(pgp_mime_mail(someone))

    assert message.state == State.FAILED
    assert "program_pgp_key import" in message.error


def test_a_plain_mail_is_recorded_unsigned_without_a_note(program_key):
    from tests.intake.mails import report_mail

    message = ingest(report_mail())

    assert (message.encrypted, message.signature) == (False, Signature.UNSIGNED)
    assert internal_notes(message.report) == []


def test_an_encrypted_report_in_the_mailbox_is_answered_encrypted_on_the_wire(
    mailbox, smtp_server, program_cert, carol
):
    from outbox.services import deliver_pending_mail

    mailbox.append(pgp_mime_mail(program_cert, signer=carol.signer()))
    call_command("poll_intake_mailbox", stdout=StringIO())
    deliver_pending_mail()

    report = Report.objects.get()
    assert report.description == TEXT
    assert report.intake_messages.get().signature == Signature.GOOD
    [acknowledgement] = smtp_server.to("carol@example.test")
    assert acknowledgement.get_content_type() == "multipart/encrypted"
    _control, body = acknowledgement.iter_parts()
    opened = pysequoia.decrypt(bytes=body.get_payload(decode=True), decryptor=carol.decryptor())
    assert report.public_id.encode() in opened.bytes


def test_an_encrypted_reply_by_mail_lands_in_the_thread_in_clear(program_cert):
    from reports.emails import thread_root_id

    report = ingest(pgp_mime_mail(program_cert)).report
    answer = pgp_mime_mail(program_cert, inner=entity("The build is 1.40.2."), subject="Re: it")
    # The researcher's client answers the acknowledgement, whose Message-ID is the thread's root.
    answer = f"In-Reply-To: {thread_root_id(report)}\r\n".encode() + answer

    message = ingest(answer)

    assert message.state == State.PROCESSED, message.error
    assert message.report == report and Report.objects.count() == 1
    assert message.encrypted
    public = report.messages.filter(visibility=Message.Visibility.PUBLIC)
    assert any("The build is 1.40.2." in reply.body for reply in public)
