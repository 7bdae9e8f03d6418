"""Benchmark what encryption at rest costs: admin pages and a portal submission, with and without.

    python -m bench.encryption [--reports 100] [--messages 20] [--repeat 25] [--rounds 3]

Prints JSON: the median wall time of rendering the admin report list (one page of reports, each
naming its researcher), one report's admin page (its encrypted fields, a thread of messages
and attachments) and a portal submission with an attachment, once with encryption and once
without, and the ratio of the two. The target: every ratio within 1.2.

"Without encryption" runs the very same code with the ciphers swapped for the identity inside
this process: field values are sealed and unsealed as they are (``encryption.tokens.seal`` and
``unseal``), files are stored as uploaded (``encryption.storage`` streams), and blind indexes
are the normalized value instead of an HMAC. The difference is therefore the cost of the
cryptography itself (key lookup, HKDF, AES-GCM-SIV, AES-GCM, HMAC); the descriptors that decrypt
lazily stay in both runs. Each run has a dataset of its own, written in its own mode. The two
modes take turns for several rounds and each figure is the median over the rounds, so that a
database slowing down (or warming up) during the benchmark does not count against one mode.
"""

import argparse
import json
import os
import statistics
import time
from contextlib import contextmanager

from bench.setup_django import ROOT, setup_django

TARGET_RATIO = 1.2
ATTACHMENT = b"Proof of concept:\ncurl -i http://127.0.0.1:4000/admin/keys\n" * 150


@contextmanager
def identity_ciphers():
    """Swap every cipher encryption uses for the identity, in this process only."""
    from encryption import blind_index, storage, streams, tokens

    def pass_chunks(chunks, binding):
        for chunk in chunks:
            yield chunk.encode() if isinstance(chunk, str) else chunk

    def pass_stored(read, *, binding, where):
        while chunk := read(streams.CHUNK_SIZE):
            yield chunk

    swaps = [
        (tokens, "seal", lambda plaintext, binding: plaintext),
        (tokens, "unseal", lambda stored, *, binding, where: stored),
        (storage, "encrypt_chunks", pass_chunks),
        (storage, "decrypt_chunks", pass_stored),
        (storage, "plaintext_size", lambda stored_size: stored_size),
        (blind_index, "_index", lambda value, key: blind_index.normalize(value)),
    ]
    originals = [(module, name, getattr(module, name)) for module, name, _ in swaps]
    for module, name, replacement in swaps:
        setattr(module, name, replacement)
    try:
        yield
    finally:
        for module, name, original in originals:
            setattr(module, name, original)


@contextmanager
def encryption_on():
    yield


def clear() -> None:
    """Delete the dataset with plain SQL: the ORM would read (so decrypt) every row for history."""
    from django.db import connection

    from outbox.models import OutgoingMail
    from reports.models import Attachment, Deadline, Message, Report, Reporter

    models = [Attachment, Message, Deadline, Report, Reporter, OutgoingMail]
    models += [model.history.model for model in models]
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608


def people():
    """Return a superuser and a researcher who may submit (made once, kept between runs)."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    from bounty.reference_program import load_reference_program

    load_reference_program()
    User = get_user_model()
    staff = User.objects.filter(email="bench-admin@example.test").first()
    staff = staff or User.objects.create_superuser("bench-admin@example.test", "x" * 20)
    researcher = User.objects.filter(email="bench-researcher@example.test").first()
    if researcher is None:
        researcher = User.objects.create_user(
            "bench-researcher@example.test", "x" * 20, full_name="Rita Researcher"
        )
        EmailAddress.objects.create(
            user=researcher, email=researcher.email, verified=True, primary=True
        )
    return staff, researcher


def fill(reports: int, messages: int, staff, researcher):
    """Write the dataset through the services; return the report whose page is rendered."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.history import acting_user
    from bounty.models import Category
    from reports import services
    from reports.models import Reporter

    category = Category.objects.get(code="P1")
    researchers = [
        Reporter.objects.create(
            email=f"researcher{n}@example.test",
            display_name=f"Researcher Number {n}",
            payment_details=f"IBAN DE00 0000 0000 0000 {n:04d}",
        )
        for n in range(20)
    ]
    with acting_user(staff):
        for n in range(reports):
            report = services.submit_report(
                reporter=researchers[n % len(researchers)],
                submission=services.Submission(
                    title=f"Benchmark report {n}",
                    description="The admin API does not check the key. " * 20,
                    steps_to_reproduce="1. Start the proxy.\n2. GET /admin/keys.\n" * 5,
                    category=category,
                    affected_asset="llm-proxy admin API",
                    affected_version="1.40.2",
                    impact="Anyone on the network can create keys. " * 10,
                    cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                ),
                acting_user=None,
            )
        for n in range(messages):
            services.add_staff_message(
                report, acting_user=staff, body=f"Message {n}: " + "words " * 60, public=bool(n % 2)
            )
        services.attach_files(
            report,
            acting_user=staff,
            files=[SimpleUploadedFile(f"proof{n}.txt", ATTACHMENT) for n in range(3)],
        )
    services.link_reporter_to_user(researcher)
    return report


def median_ms(action, repeat: int) -> float:
    for _ in range(3):
        action()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return round(statistics.median(timings) * 1000, 2)


def measure(mode, args, staff, researcher) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.urls import reverse

    from bounty.models import Category

    with mode():
        clear()
        report = fill(args.reports, args.messages, staff, researcher)
        admin = Client(HTTP_HOST="localhost")
        admin.force_login(staff)
        portal = Client(HTTP_HOST="localhost")
        portal.force_login(researcher)
        report_list = reverse("admin:reports_report_changelist")
        report_page = reverse("admin:reports_report_change", args=[report.pk])
        category = Category.objects.get(code="P1").pk
        submitted = []

        def render(client, url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            response.content  # noqa: B018 - rendering completes here

        def submit():
            response = portal.post(
                "/portal/reports/new/",
                {
                    "title": f"Submitted {len(submitted)}",
                    "category": category,
                    "affected_asset": "llm-proxy admin API",
                    "affected_version": "1.40.2",
                    "description": "The admin API does not check the key. " * 20,
                    "steps_to_reproduce": "1. Start the proxy.\n2. GET /admin/keys.",
                    "impact": "Anyone on the network can create keys.",
                    "cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                    "scope_confirmed": "on",
                    "attachments": [SimpleUploadedFile("proof.txt", ATTACHMENT)],
                },
            )
            assert response.status_code == 302, response.status_code
            submitted.append(response)

        return {
            "admin_report_list": median_ms(lambda: render(admin, report_list), args.repeat),
            "admin_report_page": median_ms(lambda: render(admin, report_page), args.repeat),
            "portal_submit": median_ms(submit, args.repeat),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    # The benchmark's files and rate limits are its own, never the development desk's.
    os.environ.setdefault("MEDIA_ROOT", str(ROOT / "var" / "bench" / "media"))
    os.environ.setdefault("PORTAL_SUBMIT_RATE", "1000000/h")
    setup_django("encryption")
    from django.db import connection

    staff, researcher = people()
    runs = {"plain": [], "encrypted": []}
    for _ in range(args.rounds):
        runs["plain"].append(measure(identity_ciphers, args, staff, researcher))
        runs["encrypted"].append(measure(encryption_on, args, staff, researcher))
    clear()
    plain, encrypted = (
        {name: statistics.median(run[name] for run in runs[mode]) for name in runs[mode][0]}
        for mode in ("plain", "encrypted")
    )
    results = {
        name: {
            "encrypted_ms": encrypted[name],
            "plain_ms": plain[name],
            "ratio": round(encrypted[name] / plain[name], 3),
        }
        for name in encrypted
    }
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "reports_listed": args.reports,
                "messages_on_the_report_page": args.messages,
                "repeat": args.repeat,
                "rounds": args.rounds,
                **results,
                "target_ratio": TARGET_RATIO,
                "within_target": all(row["ratio"] <= TARGET_RATIO for row in results.values()),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
