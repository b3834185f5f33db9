"""The dashboards (under /dashboards/)."""

from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.dashboard_page, name="dashboard"),
    path("<slug:level>/<int:pk>/", views.dashboard_page, name="dashboard_scope"),
]
