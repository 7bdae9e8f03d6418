from django.conf import settings


def deployment(request):
    """Name the data region on every page, so nobody mistakes one region's desk for another's."""
    return {"DATA_REGION": settings.DATA_REGION}
