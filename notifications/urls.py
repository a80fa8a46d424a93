from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("webhooks/twilio/status/", views.twilio_status_callback, name="twilio-status"),
]
