from django.urls import path

from brokerdesk.modules.identity.views import FaceLoginView, FaceLogoutView
from brokerdesk.modules.partner_portal import views

app_name = "partner_portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", FaceLoginView.as_view(face=views.PARTNER_PORTAL), name="login"),
    path("logout/", FaceLogoutView.as_view(face=views.PARTNER_PORTAL), name="logout"),
    path("links/", views.links, name="links"),
    path("clients/", views.clients, name="clients"),
    path("commissions/", views.commissions, name="commissions"),
    path("commissions/<uuid:public_id>/", views.line, name="line"),
    path("statements/", views.statements, name="statements"),
    path("statements/<uuid:public_id>/", views.statement, name="statement"),
    path("payouts/", views.payouts, name="payouts"),
    path("tree/", views.tree, name="tree"),
    path("disputes/", views.disputes, name="disputes"),
    path("materials/", views.materials, name="materials"),
    path("materials/<uuid:public_id>/download/", views.material_download, name="material-download"),
    path("materials/file/<str:token>/", views.material_file, name="material-file"),
]
