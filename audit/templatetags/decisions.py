from django import template

register = template.Library()


@register.inclusion_tag("audit/decisions.html")
def decisions(record):
    """List the decisions on a report or a payout: each status move, who made it, when and why.

    They are kept as long as their record, whatever audit retention deletes from its history.
    """
    return {"decisions": list(record.status_changes.all())}
