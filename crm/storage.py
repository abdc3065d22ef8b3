"""Static files in production: WhiteNoise's compressed, hashed files, with each URL worked out once.

`{% static %}` asks the storage for a file's URL on every page: base.html alone names seven files.
The manifest storage answers each by cleaning the name, looking up its hashed name and joining it
to STATIC_URL (~8 µs). The manifest is read once when the process starts and never changes while
it runs, so the answer for a name is remembered.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage

REMEMBERED = 4096  # names; templates name a few dozen files, this bounds anything else


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name, force=False):
        url = None if force else self._urls.get(name)
        if url is None:
            url = super().url(name, force)  # a name missing from the manifest raises: nothing remembered
            if not force and len(self._urls) < REMEMBERED:
                self._urls[name] = url
        return url
