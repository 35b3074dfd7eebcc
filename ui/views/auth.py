"""Logging in and out of the web UI (Django's session; the stream reads the same cookie)."""

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.db import transaction
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from coordination.audit import audit_record
from coordination.authentication import client_ip
from coordination.models import Membership
from coordination.throttling import login_attempt


class OfficerLoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("Wrong username or password."),
        "inactive": _("This account is disabled."),
        "not_officer": _("This account is not an officer of any jurisdiction; ask your administrator."),
        "too_many": _("Too many login attempts; wait a minute and try again."),
    }

    username = forms.CharField(label=_("Username"), max_length=150,
                               widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}))
    password = forms.CharField(label=_("Password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def clean(self):
        # The guessing budget the API's token endpoint spends too (per address, per account).
        ip = client_ip(self.request) if self.request else None
        if login_attempt(ip=ip, username=self.cleaned_data.get("username") or "") is not None:
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
