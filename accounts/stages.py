from allauth.account.stages import EmailVerificationStage


class SelfMadeAccountEmailVerificationStage(EmailVerificationStage):
    """allauth's rule that an address is verified before its first sign-in, for researchers.

    A researcher's account is whatever someone typed on the sign-up page, so its address proves
    nothing until verified. A staff account is made by an operator (the admin, createsuperuser)
    or by single sign-on, whose identity provider vouches for the address.
    """

    def handle(self):
        if self.login.user is not None and self.login.user.is_staff:
            return None, True
        return super().handle()
