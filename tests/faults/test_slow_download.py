"""A download longer than gunicorn's worker timeout (#16 item 15: every download of any size finishes).

A sync worker tells the arbiter it is alive only between requests, so a CSV streaming for longer than ``timeout``
is killed part-way (a million rows take tens of seconds, gunicorn's default timeout is 30 s). The project's own
gunicorn settings (``config/gunicorn.py``) use threaded workers, whose main thread keeps reporting while a
thread streams. Served here with a 2 s timeout and a download the test checks lasts more than twice it.
"""

import time

import pytest

from .served import PROJECT, gunicorn

pytestmark = pytest.mark.django_db(transaction=True)  # the server reads what the test commits

ROWS = 800_000  # several seconds here: more than twice the timeout (asserted), on a fast day too
# Above the 1 s a gthread worker's main loop may take between two reports (its poll's timeout), or a busy machine
# kills a worker that is alive; still far under the download's length.
TIMEOUT = 2




def test_a_csv_download_streaming_longer_than_the_worker_timeout_arrives_whole(
    organization, make_vault, admin_session, tmp_path
):
    vault = make_vault(organization, vouchers=ROWS)
    with gunicorn(tmp_path, "-c", str(PROJECT / "config" / "gunicorn.py"), "-w", "1",
                  GUNICORN_TIMEOUT=str(TIMEOUT)) as web:
        started = time.monotonic()
        status, headers, content = web.request("GET", f"/incentives/vouchers/?vault={vault.pk}&format=csv",
                                               headers=admin_session, timeout=300)
        took = time.monotonic() - started
        log = web.log.read_text()

    assert status == 200 and headers["content-type"].startswith("text/csv"), content[:500]
    assert took > 2 * TIMEOUT, f"the download took {took:.1f} s: too short to prove anything, raise ROWS"
    lines = content.decode().splitlines()
    assert len(lines) == ROWS + 1, (len(lines), log[-2000:])  # the header and every row: none cut off
    assert lines[-1].count(",") == lines[0].count(",")  # the last row whole
    assert "WORKER TIMEOUT" not in log
