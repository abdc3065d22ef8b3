from django.urls import path

from . import views

app_name = "followups"

urlpatterns = [
    path("", views.my_day, name="my_day"),
    path("team/", views.team, name="team"),
    path("log/<int:customer_pk>/", views.log, name="log"),
    path("customer/<int:pk>/", views.customer, name="customer"),
    path("tasks/", views.TaskListView.as_view(), name="task_list"),
    path("tasks/new/<int:customer_pk>/", views.task_create, name="task_create"),
    path("tasks/<int:pk>/reassign/", views.task_reassign, name="task_reassign"),
    path("tasks/<int:pk>/cancel/", views.task_cancel, name="task_cancel"),
    path("sops/", views.sop_list, name="sop_list"),
    path("sops/<str:stage>/", views.sop_edit, name="sop_edit"),
    path("complaints/", views.ComplaintListView.as_view(), name="complaint_list"),
    path("complaints/new/<int:customer_pk>/", views.complaint_create, name="complaint_create"),
    path("complaints/<int:pk>/", views.complaint_detail, name="complaint_detail"),
    path("complaints/<int:pk>/respond/", views.complaint_respond, name="complaint_respond"),
    path("complaints/<int:pk>/resolve/", views.complaint_resolve, name="complaint_resolve"),
    path("nps/report/", views.nps_report, name="nps_report"),
    path("channels/", views.channel_list, name="channel_list"),
    path("channels/<int:team_pk>/<str:kind>/", views.channel_edit, name="channel_edit"),
    path("channels/test/<int:pk>/", views.channel_test, name="channel_test"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
]
