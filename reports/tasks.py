from celery import shared_task

from reports import reminders


@shared_task(name="reports.send_deadline_reminders")
def send_deadline_reminders_task() -> dict:
    result = reminders.send_deadline_reminders()
    return {"reminded": result.reminded, "skipped": result.skipped}


@shared_task(name="reports.send_triage_digest")
def send_triage_digest_task() -> int:
    return reminders.send_triage_digest()
