import zoneinfo

from django.utils import timezone, translation


class UserPreferencesMiddleware:
    """Activate the signed-in user's saved language and time zone for this request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        profile = getattr(user, "profile", None) if user is not None and user.is_authenticated else None
        if profile is not None and profile.language:
            translation.activate(profile.language)
            request.LANGUAGE_CODE = translation.get_language()
        if profile is not None and profile.time_zone:
            try:
                timezone.activate(zoneinfo.ZoneInfo(profile.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)
