"""URL configuration."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from ecopark.views import healthz
from reports.views import home

admin.site.site_header = "ecopark"
admin.site.site_title = "ecopark"

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("parks/", include("parks.urls")),
    path("enterprises/", include("enterprises.urls")),
    path("measures/", include("measures.urls")),
    path("dashboards/", include("reports.urls")),
    path("api/v1/", include("ecopark.api.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "ecopark.views.not_found"
handler500 = "ecopark.views.server_error"
