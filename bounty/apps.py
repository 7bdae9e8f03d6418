from django.apps import AppConfig


class BountyConfig(AppConfig):
    name = "bounty"
    verbose_name = "Program and bounties"
