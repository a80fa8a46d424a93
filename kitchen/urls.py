from django.urls import path

from kitchen import views

app_name = "kitchen"
urlpatterns = [
    path("", views.kitchen_board, name="board"),
    path("board/", views.kitchen_board_fragment, name="board-fragment"),
    path("events/", views.board_events, name="events"),
    path("tickets/<int:pk>/start/", views.ticket_start, name="ticket-start"),
    path("tickets/<int:pk>/ready/", views.ticket_ready, name="ticket-ready"),
    path("dispatch/", views.dispatch_board, name="dispatch"),
    path("dispatch/board/", views.dispatch_board_fragment, name="dispatch-fragment"),
    path("dispatch/<int:order_id>/send-out/", views.dispatch_send_out, name="dispatch-send-out"),
    path("dispatch/<int:order_id>/delivered/", views.dispatch_delivered, name="dispatch-delivered"),
]
