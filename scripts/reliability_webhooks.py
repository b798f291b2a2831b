"""The webhook side of the reliability harness (issue #13): a receiver on loopback that verifies
every delivery's Standard Webhooks signature and records it, an endpoint pointing at it, and the
checks run after the kills: every integration event of the run was received at least once, each
account's first deliveries arrived in position order, a delivery's `webhook-id` is its event's id
(so a duplicate carries the same one), and no signature failed.

Python 3.11 standard library only, like the rest of the harness.
"""

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from reliability_processes import http, log


class Receiver:
    """An HTTP server on 127.0.0.1 that answers 200 to every delivery it can verify."""

    def __init__(self):
        self.lock = threading.Lock()
        self.deliveries = []  # (webhook-id, body as parsed JSON), in arrival order
        self.bad_signatures = 0
        self.secret = None  # bytes, once the endpoint exists
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ok = receiver.verify(self.headers, body)
                with receiver.lock:
                    if ok:
                        receiver.deliveries.append((self.headers["webhook-id"], json.loads(body)))
                    else:
                        receiver.bad_signatures += 1
                self.send_response(200 if ok else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def verify(self, headers, body):
        """The Standard Webhooks check: HMAC-SHA256 over `id.timestamp.body` with the secret."""
        if self.secret is None:
            return False
        signed = f"{headers.get('webhook-id')}.{headers.get('webhook-timestamp')}.".encode() + body
        expected = base64.b64encode(hmac.new(self.secret, signed, hashlib.sha256).digest())
        offered = [s.split(",", 1)[1].encode() for s in headers.get("webhook-signature", "").split()
                   if s.startswith("v1,")]
        return any(hmac.compare_digest(expected, s) for s in offered)

    def subscribe(self, server_url, admin_key):
        """Creates the endpoint (every event type) on a running server and keeps its secret."""
        status, _, body = http("POST", f"{server_url}/v1/webhook-endpoints", admin_key,
                               {"url": self.url, "enabled_events": ["*"]},
                               key="reliability-webhook-endpoint")
        if status != 201:
            raise RuntimeError(f"creating the webhook endpoint answered {status}: {body}")
        self.secret = base64.b64decode(body["secret"].removeprefix("whsec_"))
        log(f"webhook endpoint {body['id']} -> {self.url}")

    def received_ids(self):
        with self.lock:
            return {webhook_id for webhook_id, _ in self.deliveries}

    def wait_for(self, pg, database, patience=180):
        """Waits until every event of the catalog was received, or `patience` seconds pass."""
        deadline = time.monotonic() + patience
        while True:
            missing = set(catalog(pg, database)) - self.received_ids()
            if not missing or time.monotonic() > deadline:
                return
            time.sleep(0.5)

    def stop(self):
        self.server.shutdown()


def catalog(pg, database):
    """The integration events of the run: id -> (position, account)."""
    rows = pg.psql(database, """
        SELECT coalesce(json_agg(json_build_array(id, position, account_id)), '[]')
          FROM integration_events""")
    return {row[0]: (row[1], row[2]) for row in rows}


def check_webhooks(pg, database, receiver):
    """What the receiver saw against the catalog."""
    events = catalog(pg, database)
    with receiver.lock:
        deliveries = list(receiver.deliveries)
        bad_signatures = receiver.bad_signatures
    received = {webhook_id for webhook_id, _ in deliveries}
    mislabelled = [webhook_id for webhook_id, body in deliveries if body.get("id") != webhook_id]
    # Each account's first delivery of each event, in arrival order, must follow positions.
    seen, last_position, out_of_order = set(), {}, []
    for webhook_id, body in deliveries:
        if webhook_id in seen:
            continue
        seen.add(webhook_id)
        account, position = body["account_id"], body["position"]
        if position < last_position.get(account, -1):
            out_of_order.append((account, position, last_position[account]))
        last_position[account] = max(position, last_position.get(account, -1))
    return {
        "events": len(events),
        "received": len(deliveries),
        "unique": len(received),
        "missing": sorted(set(events) - received),
        "unknown": sorted(received - set(events)),
        "out_of_order": out_of_order,
        "mislabelled": mislabelled,
        "bad_signatures": bad_signatures,
    }
