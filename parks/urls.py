"""The parks page (under /parks/)."""

from django.urls import path

from parks import views

app_name = "parks"
urlpatterns = [path("", views.park_list, name="list")]
