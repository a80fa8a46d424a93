from django.urls import path

from integrations import views

urlpatterns = [
    path("cloudevents/", views.cloudevents_inbound, name="cloudevents-inbound"),
    path("api/events/asyncapi.json", views.asyncapi_json, name="events-asyncapi"),
    path("api/events/", views.event_catalogue, name="events-catalogue"),
]
