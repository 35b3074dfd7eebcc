"""How our authenticators appear in the OpenAPI schema (drf-spectacular extensions)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "coordination.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API client's token (create_api_client) or an officer's (POST /api/v1/auth/token/).",
        }


class OfficerSessionScheme(OpenApiAuthenticationExtension):
    target_class = "coordination.authentication.OfficerSessionAuthentication"
    name = "sessionAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
