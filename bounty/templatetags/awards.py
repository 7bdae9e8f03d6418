from django import template

from bounty import services

register = template.Library()


@register.simple_tag
def may_propose_award(user, report) -> bool:
    """Whether to offer ``user`` the "Propose award" link on ``report``'s admin page."""
    return services.may_propose_award(report, user)
