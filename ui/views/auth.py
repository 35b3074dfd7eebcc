"""Logging in and out of the web UI (Django's session; the stream reads the same cookie)."""

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from coordination.authentication import client_ip
from coordination.models import Membership
from coordination.services import audit_record


def _login_limit() -> tuple[int, int]:
    """The API's login rate (LOGIN_RATE_LIMIT) holds for the web form too: one guessing budget."""
    count, _sep, period = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token_login"].partition("/")
    return int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


class OfficerLoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("Wrong username or password."),
        "inactive": _("This account is disabled."),
        "not_officer": _("This account is not an officer of any jurisdiction; ask your administrator."),
        "too_many": _("Too many attempts from this address; wait a minute and try again."),
    }

    username = forms.CharField(label=_("Username"), max_length=150,
                               widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}))
    password = forms.CharField(label=_("Password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def clean(self):
        ip = client_ip(self.request) if self.request else None
        limit, period = _login_limit()
        key = f"ui-login:{ip}"
        cache.add(key, 0, period)
        try:
            attempts = cache.incr(key)
        except ValueError:
            cache.set(key, 1, period)
            attempts = 1
        if attempts > limit:
            raise forms.ValidationError(self.error_messages["too_many"], code="too_many")
        try:
            return super().clean()
        except forms.ValidationError:
            with transaction.atomic():
                audit_record(actor=None, action="auth.login_failed",
                             detail={"username": (self.cleaned_data.get("username") or "")[:150], "ip": ip,
                                     "via": "web"})
            raise

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not Membership.objects.filter(user=user).exists():
            raise forms.ValidationError(self.error_messages["not_officer"], code="not_officer")


class LoginView(auth_views.LoginView):
    template_name = "ui/login.html"
    form_class = OfficerLoginForm
    redirect_authenticated_user = True
    next_page = reverse_lazy("ui:dashboard")

    def form_valid(self, form):
        response = super().form_valid(form)
        with transaction.atomic():
            audit_record(actor=None, action="auth.web_login",
                         detail={"username": form.get_user().get_username(), "ip": client_ip(self.request)})
        return response


class LogoutView(auth_views.LogoutView):
    next_page = settings.LOGIN_URL
