"""My contact methods (issue 20): the logged-in officer's own contact methods, in the order
they are tried, their quiet hours and the language of their messages. Reads through
coordination.people.selectors, writes through coordination.people.services (the same the API
calls, which check again and audit); an officer sees and edits only their own here.

Its URLs are below (ui/urls.py includes them), so the page and its form posts stay together."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from config.errors import ApplicationError, PermissionDenied
from coordination.models import Role
from coordination.notify import rendering
from coordination.notify.lifecycle import Reason
from coordination.notify.selectors import vapid_public_key
from coordination.people import contract, selectors, services
from coordination.people.models import Channel, MessageLanguage
from coordination.registry import registry
from coordination.roles import ROLE_ORDER
from coordination.workflows.selectors import playbooks_visible_to
from ui import registry as ui_registry
from ui.access import officer_view, page
from ui.people_forms import ContactAddForm, LanguageForm, PushSubscribeForm, QuietHoursForm, attach


def _rows(methods) -> list[dict]:
    return [{"method": method, "channel": Channel(method.channel).label,
             "shown": contract.shown_address(method.channel, method.address),
             "first": index == 0, "last": index == len(methods) - 1}
            for index, method in enumerate(methods)]


def _page(request, *, add_form=None, quiet_form=None, language_form=None, push_form=None, status: int = 200):
    principal = request.principal
    methods = selectors.all_contact_methods_of(principal.user_id)
    policy = selectors.policy_of(principal.user_id)
    if quiet_form is None:
        quiet_form = QuietHoursForm(initial={"quiet_start": policy.quiet_start, "quiet_end": policy.quiet_end,
                                             "time_zone": "" if policy.zone_is_default else policy.zone.key})
    return page(request, "ui/people/contact_methods.html", {
        "rows": _rows(methods),
        "add_form": add_form or ContactAddForm(jurisdiction=principal.jurisdiction),
        "quiet_form": quiet_form,
        "policy": policy,
        "language_form": language_form or LanguageForm(initial={"language": selectors.language_of(principal.user_id)}),
        "full": len(methods) >= contract.MAX_METHODS,
        "may_preview": may_preview(principal),
        "push_key": vapid_public_key(),
        "push_form": push_form or PushSubscribeForm(),
        "most": contract.MAX_METHODS,
    }, status=status)


@officer_view
def contact_methods(request):
    return _page(request)


@require_POST
@officer_view
def contact_add(request):
    principal = request.principal
    form = ContactAddForm(request.POST, jurisdiction=principal.jurisdiction)
    if form.is_valid():
        try:
            services.contact_add(actor=principal, officer=principal.user_id, **form.cleaned_data)
        except ApplicationError as exc:
            attach(form, exc)
        else:
            messages.success(request, _("Contact method added."))
            return redirect("ui:people")
    return _page(request, add_form=form, status=400)


@require_POST
@officer_view
def contact_remove(request, contact_id):
    method = services.contact_get(actor=request.principal, contact_id=contact_id)
    services.contact_remove(actor=request.principal, contact=method)
    messages.success(request, _("Contact method removed."))
    return redirect("ui:people")


@require_POST
@officer_view
def contact_move(request, contact_id, direction):
    principal = request.principal
    services.contact_get(actor=principal, contact_id=contact_id)  # 404 for anyone else's
    ids = [method.pk for method in selectors.all_contact_methods_of(principal.user_id)]
    index = ids.index(contact_id)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
        services.contacts_reorder(actor=principal, officer=principal.user_id, ids=ids)
    return redirect("ui:people")


@require_POST
@officer_view
def quiet_hours(request):
    principal = request.principal
    form = QuietHoursForm(request.POST)
    if form.is_valid():
        try:
            services.policy_set(actor=principal, officer=principal.user_id, **form.cleaned_data)
        except ApplicationError as exc:
            attach(form, exc)
        else:
            messages.success(request, _("Quiet hours saved."))
            return redirect("ui:people")
    return _page(request, quiet_form=form, status=400)


@require_POST
@officer_view
def message_language(request):
    principal = request.principal
    form = LanguageForm(request.POST)
    if form.is_valid():
        try:
            services.language_set(actor=principal, officer=principal.user_id, **form.cleaned_data)
        except ApplicationError as exc:
            attach(form, exc)
        else:
            messages.success(request, _("Language of your messages saved."))
            return redirect("ui:people")
    return _page(request, language_form=form, status=400)


@require_POST
@officer_view
def push_subscribe(request):
    """The browser's subscription (ui/js/push.js), stored as a web push contact method through
    the same service as any other (which checks it again and audits)."""
    principal = request.principal
    form = PushSubscribeForm(request.POST)
    if form.is_valid():
        try:
            services.contact_add(actor=principal, officer=principal.user_id, channel=Channel.WEBPUSH,
                                 address=form.cleaned_data["subscription"], label=form.cleaned_data["label"])
        except ApplicationError as exc:
            attach(form, exc)
        else:
            messages.success(request, _("This browser will receive your notifications."))
            return redirect("ui:people")
    return _page(request, push_form=form, status=400)


# --- message template preview (issue 20) -------------------------------------------------------------

LEVELS = ("I", "II", "III", "IV")
CHANNEL_NAMES = {"email": Channel.EMAIL.label, "sms": Channel.SMS.label, "webpush": Channel.WEBPUSH.label,
                 "wecom": _lazy("Group robots (WeCom, DingTalk, Feishu)")}
LANGUAGE_NAMES = dict(MessageLanguage.choices)


def may_preview(principal) -> bool:
    """Commanders and coordinators: those who answer for what their jurisdiction is sent."""
    return principal.is_coordinator or ROLE_ORDER.index(Role(principal.role)) >= ROLE_ORDER.index(Role.COMMANDER)


def _sample_places(principal) -> tuple[str | None, str, str, str]:
    """(cluster, asker, asked, silent) for the samples: the officer's cluster, their own
    jurisdiction asking, two of its neighbours in the cluster asked (and silent)."""
    cluster = ui_registry.home_cluster(principal)
    code = cluster.code if cluster else None
    members = sorted(registry().members.get(code or "", ())) or [principal.jurisdiction]
    others = [member for member in members if member != principal.jurisdiction] or [principal.jurisdiction]
    return code, principal.jurisdiction, others[0], others[1] if len(others) > 1 else others[0]


@officer_view
def message_templates(request):
    principal = request.principal
    if not may_preview(principal):
        raise PermissionDenied(_("Only commanders and coordinators preview the message templates."))
    playbooks = list(playbooks_visible_to(principal=principal).filter(is_active=True).order_by("code"))
    chosen = next((p for p in playbooks if p.code == request.GET.get("playbook")), playbooks[0] if playbooks else None)
    level = request.GET.get("level") if request.GET.get("level") in LEVELS else "II"
    steps = []
    if chosen is not None:
        cluster, asker, asked, silent = _sample_places(principal)
        steps = rendering.playbook_previews(
            chosen.definition, cluster=cluster, asker=asker, jurisdiction=asked, silent=silent, level=level,
            title=_("Heavy rain floods the roads on the border"), now=timezone.now())
    return page(request, "ui/people/messages.html", {
        "playbooks": playbooks, "chosen": chosen, "level": level, "levels": LEVELS,
        "steps": [{"step": step, "in_place": step.reason == Reason.ACK_IN_PLACE,
                   "minutes": int(step.deadline.total_seconds() // 60),
                   "languages": [{"name": LANGUAGE_NAMES[language],
                                  "channels": [{"name": CHANNEL_NAMES[channel], "channel": channel,
                                                "message": message, "sms": sms}
                                               for channel, (message, sms) in channels.items()]}
                                 for language, channels in step.messages.items()]}
                  for step in steps],
    })


urlpatterns = [
    path("", contact_methods, name="people"),
    path("add/", contact_add, name="people-add"),
    path("<int:contact_id>/remove/", contact_remove, name="people-remove"),
    path("<int:contact_id>/up/", contact_move, {"direction": "up"}, name="people-up"),
    path("<int:contact_id>/down/", contact_move, {"direction": "down"}, name="people-down"),
    path("quiet-hours/", quiet_hours, name="people-quiet"),
    path("language/", message_language, name="people-language"),
    path("messages/", message_templates, name="people-messages"),
    path("push/", push_subscribe, name="people-push"),
]
