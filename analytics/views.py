import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from analytics.models import DailyRollup
from analytics.services import rollup_day
from pizzeria.security.permissions import permission_required


# Revenue is the manager's business, not every staff member's (the role matrix in the README).
@permission_required("analytics.view_dailyrollup", message="Analytics are for managers.")
def dashboard(request: HttpRequest) -> HttpResponse:
    """The last 14 days: orders, revenue, preparation and delivery times, as bar charts."""
    today = timezone.localdate()
    rollup_day(day=today)  # today's row is fresh; older days come from beat
    start = today - dt.timedelta(days=13)
    rows = list(DailyRollup.objects.filter(day__gte=start).order_by("day"))
    peak_orders = max((r.orders for r in rows), default=0) or 1
    peak_revenue = max((r.revenue for r in rows), default=0) or 1
    days = [
        {
            "row": r,
            "orders_pct": round(100 * r.orders / peak_orders),
            "revenue_pct": round(100 * float(r.revenue) / float(peak_revenue)),
        }
        for r in rows
    ]
    return render(request, "analytics/dashboard.html", {"days": days, "title": "Analytics"})
