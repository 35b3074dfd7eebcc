from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from coordination.principals import Principal


class _SettingsRateThrottle(SimpleRateThrottle):
    """Reads its rate from the settings at each request (DRF binds it once, at import)."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class PrincipalRateThrottle(_SettingsRateThrottle):
    """A rate per API client or officer (the cache is Redis in the services mode, so it holds
    across processes); anonymous callers are counted by address."""

    scope = "principal"

    def get_cache_key(self, request, view):
        if isinstance(request.user, Principal):
            ident = request.user.pk
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class TokenLoginThrottle(_SettingsRateThrottle):
    """Password guessing through POST /api/v1/auth/token/ is limited per address."""

    scope = "token_login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
