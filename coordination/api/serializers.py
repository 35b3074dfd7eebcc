from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from coordination.models import Cluster, CoordinationBody, Jurisdiction, MetropolitanCircle


@extend_schema_field(
    {"type": "object", "nullable": True, "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}}
)
class CentroidField(serializers.Field):
    def to_representation(self, jurisdiction):
        if jurisdiction.centroid_lat is None:
            return None
        return {"lat": jurisdiction.centroid_lat, "lon": jurisdiction.centroid_lon}


class CircleOutput(serializers.ModelSerializer):
    members = serializers.SerializerMethodField()

    class Meta:
        model = MetropolitanCircle
        fields = ["code", "name_zh", "name_en", "lead", "members"]

    def get_members(self, circle) -> list[str]:
        return sorted(member.code for member in circle.members.all())


class CoordinationBodyOutput(serializers.ModelSerializer):
    members = serializers.SerializerMethodField()

    class Meta:
        model = CoordinationBody
        fields = ["code", "kind", "name_zh", "name_en", "convener", "members"]

    def get_members(self, body) -> list[str]:
        return sorted(member.code for member in body.members.all())


class ClusterOutput(serializers.ModelSerializer):
    members = serializers.SerializerMethodField()
    core_cities = serializers.SerializerMethodField()
    circles = CircleOutput(many=True, read_only=True)
    bodies = CoordinationBodyOutput(many=True, read_only=True)

    class Meta:
        model = Cluster
        fields = ["code", "name_zh", "name_en", "time_zone", "members", "core_cities", "circles", "bodies"]

    def get_members(self, cluster) -> list[str]:
        return sorted(j.code for j in cluster.jurisdictions.all())

    def get_core_cities(self, cluster) -> list[str]:
        return sorted(j.code for j in cluster.jurisdictions.all() if j.is_core)


class JurisdictionOutput(serializers.ModelSerializer):
    clusters = serializers.SerializerMethodField()
    centroid = CentroidField(source="*", allow_null=True)

    class Meta:
        model = Jurisdiction
        fields = [
            "code", "name_zh", "name_en", "level", "parent", "clusters", "circle", "is_core", "centroid",
            "boundary_source",
        ]

    def get_clusters(self, jurisdiction) -> list[str]:
        return sorted(c.code for c in jurisdiction.clusters.all())


class JurisdictionDetailOutput(JurisdictionOutput):
    neighbours = serializers.SerializerMethodField()

    class Meta(JurisdictionOutput.Meta):
        fields = JurisdictionOutput.Meta.fields + ["neighbours", "boundary"]

    def get_neighbours(self, jurisdiction) -> list[str]:
        return sorted(j.code for j in jurisdiction.neighbours.all())


@extend_schema_serializer(component_name="TokenRequest")
class TokenInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


@extend_schema_serializer(component_name="TokenResponse")
class TokenOutput(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
