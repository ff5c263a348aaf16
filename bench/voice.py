"""The voice webhook under load (design §6): requests per second at 8 clients, beside the award API's.

Serves the project with gunicorn (as bench.award does), signs one Twilio request with the real
``RequestValidator`` and drives ``POST /hooks/voice/`` with wrk at 8 clients; then, in the same run and on
the same server, drives ``POST /api/v1/awards`` at 8 clients for the figure to compare with. Each call
routes the number (one indexed lookup) and logs one interaction.

    python -m bench voice        # BENCH_SECONDS=10 by default
"""

import os
import re
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from . import award, heading, scratch_database
from .award import WRK_SCRIPT, Run, Server, populate, wrk

award.PORT = 18803  # its own port, so it can run beside the award benchmark

DATABASE = "va_bench_voice"
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CLIENTS = 8
TOKEN = "bench-twilio-token"
TRACKING_NUMBER, FORWARD_TO = "+14155550100", "+14155550111"

VOICE_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["X-Twilio-Signature"] = "%(signature)s"
wrk.body = "%(body)s"
function done(summary, latency, requests)
  io.write(string.format("BENCH requests=%%d seconds=%%.3f non2xx=%%d errors=%%d p50=%%d p95=%%d\\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95)))
end
"""


def add_number(campaign_id: int) -> None:
    from campaigns.models import Campaign
    from core.scoping import scopes_disabled
    from tracking.models import TrackingNumber

    with scopes_disabled():
        campaign = Campaign.objects.get(pk=campaign_id)
        TrackingNumber.objects.create(organization=campaign.organization, campaign=campaign, number=TRACKING_NUMBER,
                                      forward_to=FORWARD_TO)


def voice_run(clients: int) -> Run:
    from twilio.request_validator import RequestValidator

    params = {"CallSid": "CA0123456789", "From": "+15005550006", "To": TRACKING_NUMBER, "CallStatus": "ringing"}
    url = f"http://127.0.0.1:{award.PORT}/hooks/voice/"
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(VOICE_SCRIPT % {"signature": signature, "body": urlencode(params)})
    command = ["wrk", "-t", "2", "-c", str(clients), "-d", f"{SECONDS}s", "-s", script.name, url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    Path(script.name).unlink()
    found = re.search(r"BENCH requests=(\d+) seconds=([\d.]+) non2xx=(\d+) errors=(\d+) p50=(\d+) p95=(\d+)", output)
    if found is None:
        raise SystemExit(f"wrk said:\n{output}")
    requests, seconds, non_2xx, errors, p50, p95 = found.groups()
    return Run(int(requests), float(seconds), int(non_2xx), int(errors), int(p50) / 1000, int(p95) / 1000)


def main() -> None:
    os.environ["TWILIO_AUTH_TOKEN"] = TOKEN
    with scratch_database(DATABASE) as database_url:
        heading(f"voice webhook and award API at {CLIENTS} clients, {SECONDS}s each")
        key, campaign_id = populate(200_000)
        add_number(campaign_id)
        server = Server(database_url)
        try:
            server.wait_ready()
            voice = voice_run(CLIENTS)
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
                script.write(WRK_SCRIPT)
            awards = wrk(Path(script.name), key, CLIENTS, seconds=SECONDS)
            Path(script.name).unlink()
        finally:
            server.stop()
        from core.scoping import scopes_disabled
        from interactions.models import Interaction

        with scopes_disabled():
            logged = Interaction.objects.filter(kind=Interaction.Kind.CALL).count()
        print(f"voice webhook: {voice}   ({logged:,} calls logged, {voice.requests:,} answered)")
        print(f"award API:     {awards}")
        print(f"ratio voice / award: {voice.rate / awards.rate:.2f}")
        if voice.non_2xx or logged < voice.requests:
            raise SystemExit("the webhook refused requests or lost calls")


if __name__ == "__main__":
    main()
