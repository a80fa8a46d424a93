from django.urls import path

from orders.api import views

urlpatterns = [
    path("auth/register/", views.RegisterApi.as_view(), name="api-register"),
    path("auth/token/", views.TokenApi.as_view(), name="api-token"),
    path("auth/logout/", views.LogoutApi.as_view(), name="api-logout"),
    path("menu/", views.MenuApi.as_view(), name="api-menu"),
    path("orders/", views.OrderListCreateApi.as_view(), name="api-orders"),
    path("orders/<int:pk>/", views.OrderDetailApi.as_view(), name="api-order-detail"),
    path("orders/<int:pk>/cancel/", views.OrderCancelApi.as_view(), name="api-order-cancel"),
]
