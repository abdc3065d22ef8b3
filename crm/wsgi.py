import gc
import os

from django.core.wsgi import get_wsgi_application

from crm.headroom import with_headroom

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
# Each request runs in a stack chunk of its own: see crm/headroom.py.
application = with_headroom(get_wsgi_application())

# A serving process keeps what it loaded at start (modules, settings, URL patterns) for its whole
# life: freeze it out of the cyclic collector's scans, and collect the youngest generation after
# 50,000 new objects instead of 700 (a list page makes ~100,000). Under `make load` the collector
# had been ~8% of the workers' CPU; the older generations keep Django's default pace.
gc.collect()
gc.freeze()
gc.set_threshold(50_000, *gc.get_threshold()[1:])
