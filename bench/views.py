"""The API phase's minimal one-row DRF create, mounted by bench/urls.py only."""

from rest_framework import generics, serializers

from bench.models import BenchNote


class BenchNoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = BenchNote
        fields = ["id", "text"]


class BenchNoteCreateApi(generics.CreateAPIView):
    """POST /bench/notes/ {"text": ...}: the project's default authentication and permission
    (token auth, IsAuthenticated), as the order request has; no throttles."""

    queryset = BenchNote.objects.all()
    serializer_class = BenchNoteSerializer
