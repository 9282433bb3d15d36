"""The Trader's Room referral area, mounted in the portal namespace."""

from django.urls import path

from brokerdesk.modules.partners import portal_views

urlpatterns = [path("referrals/", portal_views.referrals, name="referrals")]
