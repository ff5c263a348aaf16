"""gunicorn's settings for the web processes: ``gunicorn -c config/gunicorn.py config.wsgi``.

Threaded workers (gthread): a worker's main thread keeps telling the arbiter it is alive while its threads serve,
so a long streamed download (a million-row CSV takes tens of seconds) is never killed by ``timeout``, which only
catches a worker that stopped responding. A sync worker reports only between requests: it would be killed
mid-download (tests/faults/test_slow_download.py). Each thread holds its own database connection.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Behind a load balancer that keeps connections open to us.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
accesslog = "-"
