from django.contrib import admin

from coordination.models import (
    AccessToken,
    ApiClient,
    AuditEntry,
    BodyMembership,
    Cluster,
    CoordinationBody,
    Jurisdiction,
    Membership,
    MetropolitanCircle,
)


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "time_zone"]
    search_fields = ["code", "name_zh", "name_en"]


@admin.register(Jurisdiction)
class JurisdictionAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "level", "is_core", "circle", "boundary_source"]
    list_filter = ["level", "is_core", "clusters", "boundary_source"]
    search_fields = ["code", "name_zh", "name_en"]
    filter_horizontal = ["clusters", "neighbours"]
    readonly_fields = ["boundary_updated_at"]


@admin.register(MetropolitanCircle)
class MetropolitanCircleAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "cluster", "lead"]


class BodyMembershipInline(admin.TabularInline):
    """The officers seated on the body, who act for it (coordination.bodies)."""

    model = BodyMembership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["since"]


@admin.register(CoordinationBody)
class CoordinationBodyAdmin(admin.ModelAdmin):
    list_display = ["code", "kind", "name_zh", "cluster", "convener"]
    filter_horizontal = ["members"]
    inlines = [BodyMembershipInline]


@admin.register(BodyMembership)
class BodyMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "body", "since"]
    list_filter = ["body"]
    search_fields = ["user__username", "body__code"]
    autocomplete_fields = ["user"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "jurisdiction", "role"]
    list_filter = ["role", "jurisdiction"]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "jurisdiction", "scopes", "created_at"]
    list_filter = ["jurisdiction"]


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    """Tokens are issued by commands and the login endpoint; here they are seen and revoked."""

    list_display = ["prefix", "client", "user", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at"]
    readonly_fields = ["digest", "prefix", "client", "user", "created_at", "expires_at", "last_used_at",
                       "last_used_ip"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        from coordination.services import token_revoke

        for token in queryset:
            token_revoke(token=token)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "actor_jurisdiction", "ip", "action", "object_type", "object_id"]
    list_filter = ["action", "actor_jurisdiction"]
    search_fields = ["actor", "object_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
