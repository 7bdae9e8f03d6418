"""Staff single sign-on through OpenID Connect, checked more strictly than allauth does by default.

allauth's OpenID Connect provider trusts an ID token fetched straight from the token endpoint
without checking its signature (OpenID Connect Core 3.1.3.7 allows it over TLS) and sends no
nonce. For the one door into the staff side we want neither shortcut: every ID token is verified
against the provider's published keys, and must carry the nonce this desk sent. The provider,
adapter and views here are allauth's own, with those two checks added; allauth loads them through
``SOCIALACCOUNT_PROVIDERS["openid_connect"]["provider_class"]``.
"""
