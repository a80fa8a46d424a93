from django.urls import path

from orders.tracker import views

urlpatterns = [
    path("track/<int:order_id>/<str:token>/", views.tracker_page, name="order-tracker"),
    path("track/<int:order_id>/<str:token>/status/", views.tracker_status, name="order-tracker-status"),
    path("track/<int:order_id>/<str:token>/events/", views.tracker_events, name="order-tracker-events"),
]
