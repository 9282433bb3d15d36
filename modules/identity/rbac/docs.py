"""The OpenAPI document and its browsable UI on tenant hosts, served without any CDN.

The Swagger UI assets come from drf-spectacular-sidecar's static files; the view points at
them itself, so no setting can send a browser to a third-party host. Both answer only to
active staff: the description names no tenant data, but it maps what staff can do.
"""

from __future__ import annotations

from django.templatetags.static import static
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from brokerdesk.modules.identity.rbac.permissions import IsActiveStaff

_SIDECAR = "drf_spectacular_sidecar/swagger-ui-dist"


class SchemaView(SpectacularAPIView):
    permission_classes = [IsActiveStaff]


class DocsView(SpectacularSwaggerView):
    permission_classes = [IsActiveStaff]
    url_name = "api-schema"
    title = "Brokerdesk API"

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return static(f"{_SIDECAR}/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return static(f"{_SIDECAR}/favicon-32x32.png")
