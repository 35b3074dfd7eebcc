"""The web UI's pages, fragments and form posts, at the site root (config/urls.py)."""

from django.urls import include, path

from ui.views import alerts, auth, coordination, dashboard, incidents, resources, sharing

app_name = "ui"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("me/contact-methods/", include("ui.views.people")),  # my contact methods and quiet hours (issue 20)
    path("i18n/", include("django.conf.urls.i18n")),
    # Dashboard parts the page asks for again when the stream reports a change.
    path("fragments/summary/", dashboard.summary_fragment, name="summary"),
    path("fragments/owed/", dashboard.owed_fragment, name="owed"),
    path("fragments/feed/", dashboard.feed_fragment, name="feed"),
    path("fragments/charts/", dashboard.charts_fragment, name="charts"),
    path("map/boundaries.json", dashboard.map_boundaries, name="map-boundaries"),
    path("map/incidents.json", dashboard.map_incidents, name="map-incidents"),
    # Incidents.
    path("incidents/", incidents.incident_list, name="incidents"),
    path("incidents/new/", incidents.incident_report, name="report"),
    path("incidents/new/", include("ui.views.places")),  # the report form's place search and preview (issue 19)
    path("incidents/<str:public_id>/", incidents.incident_detail, name="incident"),
    path("incidents/<str:public_id>/parts/", incidents.incident_parts, name="incident-parts"),
    path("incidents/<str:public_id>/map.json", incidents.incident_map, name="incident-map"),
    path("incidents/<str:public_id>/reached/", incidents.incident_reached, name="incident-reached"),
    path("incidents/<str:public_id>/transition/", incidents.incident_transition, name="incident-transition"),
    path("incidents/<str:public_id>/updates/", incidents.incident_update_add, name="incident-update"),
    path("incidents/<str:public_id>/sitreps/", incidents.sitrep_submit, name="incident-sitrep"),
    path("incidents/<str:public_id>/resource-requests/", incidents.resource_request_create,
         name="incident-aid"),
    path("incidents/<str:public_id>/joint-command/", incidents.joint_command_open, name="incident-command"),
    path("incidents/<str:public_id>/meetings/", incidents.meeting_convene, name="incident-meeting"),
    path("incidents/<str:public_id>/alerts/", alerts.alert_draft, name="incident-alert"),
    # Joint prevention and control.
    path("acknowledgements/<uuid:ack_id>/ack/", coordination.acknowledge, name="acknowledge"),
    path("workflow-runs/<uuid:run_id>/steps/<int:index>/approve/", coordination.step_approve,
         name="step-approve"),
    path("command/", coordination.command, name="command"),
    path("joint-commands/<uuid:command_id>/log/", coordination.joint_command_log, name="command-log"),
    path("joint-commands/<uuid:command_id>/tasks/", coordination.joint_command_task, name="command-task"),
    path("joint-commands/<uuid:command_id>/close/", coordination.joint_command_close, name="command-close"),
    path("meetings/<uuid:meeting_id>/decisions/", coordination.meeting_decision, name="meeting-decision"),
    path("meetings/<uuid:meeting_id>/close/", coordination.meeting_close, name="meeting-close"),
    path("tasks/<uuid:task_id>/move/", coordination.task_move, name="task-move"),
    # Resources and mutual aid.
    path("resources/", resources.board, name="resources"),
    path("resources/stock/", resources.stock_record, name="stock-record"),
    path("resources/stock/<int:inventory_id>/", resources.stock_correct, name="stock-correct"),
    path("resource-requests/<int:request_id>/offer/", resources.offer_create, name="offer"),
    path("resource-requests/<int:request_id>/offers/<int:offer_id>/accept/", resources.offer_accept,
         name="offer-accept"),
    path("resource-requests/<int:request_id>/<slug:action>/", resources.request_action, name="request-action"),
    # Sharing agreements.
    path("agreements/", sharing.agreements, name="agreements"),
    path("agreements/<uuid:agreement_id>/deactivate/", sharing.agreement_deactivate,
         name="agreement-deactivate"),
    # Alerts (drafted from an incident: above).
    path("alerts/", alerts.alerts, name="alerts"),
    path("alerts/<uuid:alert_id>/", alerts.alert_detail, name="alert"),
    path("alerts/<uuid:alert_id>/approve/", alerts.alert_approve, name="alert-approve"),
    path("alerts/<uuid:alert_id>/wording/", alerts.alert_wording, name="alert-wording"),
    path("alerts/<uuid:alert_id>/update/", alerts.alert_update, name="alert-update"),
    path("alerts/<uuid:alert_id>/cancel/", alerts.alert_cancel, name="alert-cancel"),
]
