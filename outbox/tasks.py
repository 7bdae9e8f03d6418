from celery import shared_task

from outbox import services


@shared_task(name="outbox.deliver_mail")
def deliver_mail_task(mail_id: int) -> bool:
    return services.deliver_mail(mail_id)


@shared_task(name="outbox.deliver_pending_mail")
def deliver_pending_mail_task() -> int:
    return services.deliver_pending_mail()
