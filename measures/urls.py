"""The measure pages (under /measures/)."""

from django.urls import path

from measures import import_views, views

app_name = "measures"
urlpatterns = [
    path("", views.measure_list, name="list"),
    path("new/<slug:kind>/", views.measure_new, name="new"),
    path("new/<slug:kind>/figures/", views.measure_figures_preview, name="preview_new"),
    path("<int:pk>/", views.measure_detail, name="detail"),
    path("<int:pk>/edit/", views.measure_edit, name="edit"),
    path("<int:pk>/edit/figures/", views.measure_figures_preview, name="preview_edit"),
    path("<int:pk>/status/", views.measure_status, name="status"),
    path("evidence/<int:pk>/", views.evidence_file, name="evidence"),
    path("import/", import_views.import_page, name="import"),
    path("import/template.<slug:fmt>", import_views.import_template, name="import_template"),
    path("import/<int:pk>/", import_views.import_job, name="import_job"),
    path("import/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("import/<int:pk>/confirm/", import_views.import_confirm_view, name="import_confirm"),
]
