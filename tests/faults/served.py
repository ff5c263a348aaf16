"""The project served as production serves it: gunicorn in its own process, on the test database (the test commits
what it serves: ``transaction=True``), DEBUG off."""

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from tests.api.conftest import award_body

from .conftest import free_port

PROJECT = Path(__file__).resolve().parents[2]


class Web:
    """A served project: plain HTTP requests to it, and its log."""

    def __init__(self, port: int, log: Path):
        self.port, self.log = port, log

    def request(self, method: str, path: str, *, body=None, headers=None, timeout=60) -> tuple[int, dict, bytes]:
        client = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = None if body is None else json.dumps(body)
            sent = {"Content-Type": "application/json"} if data is not None else {}
            client.request(method, path, body=data, headers={**sent, **(headers or {})})
            answer = client.getresponse()
            return answer.status, {name.lower(): value for name, value in answer.getheaders()}, answer.read()
        finally:
            client.close()

    def award(self, key: str, **overrides) -> tuple[int, dict, dict]:
        status, headers, content = self.request("POST", "/api/v1/awards", body=award_body(**overrides),
                                                headers={"Authorization": f"Bearer {key}"})
        return status, headers, json.loads(content)


@contextmanager
def gunicorn(log_dir: Path, *arguments: str, application_name: str = "fault-web", **environment: str) -> Iterator[Web]:
    """gunicorn with ``arguments`` on a free port, its connections named ``application_name`` in pg_stat_activity."""
    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database["PASSWORD"] else ""
    url = (f"postgres://{database['USER']}{password}@{database['HOST']}:{database['PORT'] or 5432}/"
           f"{database['NAME']}?application_name={application_name}")
    port, log = free_port(), log_dir / "gunicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.faults.web_settings",
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,  # the test's sessions are the server's
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on 127.0.0.1, as behind a load balancer
        **environment,
    }
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "config.wsgi", "-b", f"127.0.0.1:{port}", *arguments],
            cwd=PROJECT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    served = Web(port, log)
    try:
        for _ in range(300):
            try:
                served.request("GET", "/api/v1/openapi.json")
                break
            except OSError:
                assert server.poll() is None, log.read_text()[-3000:]
                time.sleep(0.1)
        yield served
    finally:
        server.terminate()
        server.wait(timeout=30)
