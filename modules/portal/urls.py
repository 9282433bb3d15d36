from django.urls import path

from brokerdesk.modules.identity.views import FaceLoginView, FaceLogoutView
from brokerdesk.modules.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", FaceLoginView.as_view(face=views.PORTAL), name="login"),
    path("logout/", FaceLogoutView.as_view(face=views.PORTAL), name="logout"),
    # Placeholders until their modules replace them (each says what is coming).
    *[path(f"{slug}/", views.section, {"section": slug}, name=slug) for slug in views.SECTIONS],
]
