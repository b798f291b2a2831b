#!/usr/bin/env python3
"""The reliability harness (docs/reliability.md): drives a mixed billing load from concurrent
clients against real `ledgerline serve --test-clock` processes on Postgres while it kills them
(`--kills`), spreads the load over replicas (`--servers`) or takes Postgres down (`--outage`),
then checks the database: nothing acknowledged lost, nothing appended twice, read models equal a
replay (`ledgerline audit verify`), every due timer fired once, no notification sent twice, and
every integration event reached a webhook receiver, in order per account.

Python 3.11 standard library only, so the scripts run with nothing to compile or install; the
checks read the database through `psql`, the same SQL an operator would run.
"""

import argparse
import calendar
import json
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field

from reliability_checks import check, summarize
from reliability_processes import Postgres, Server, http, log
from reliability_stripe import FakeStripe, check_stripe
from reliability_usage import check_balance_payments, check_usage
from reliability_webhooks import Receiver, check_webhooks

DAY = 24 * 60 * 60
# Statuses a client retries with the same Idempotency-Key: the command may or may not have run.
RETRIED_STATUSES = {500, 502, 503, 504}
# How long a server may take to advance its clock, retries included, before the run fails: an
# advance itself gives up after 60 s; this covers a restart, an outage and a slow machine.
ADVANCE_PATIENCE = 600


# ---------------------------------------------------------------------------------------------
# The client side: every POST carries an Idempotency-Key and is retried with it until it gets a
# definite answer. Every 2xx is logged with its key and response.


@dataclass
class Record:
    """What the run saw, shared by every thread under one lock."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged: list = field(default_factory=list)  # (key, path, response body)
    refused: Counter = field(default_factory=Counter)  # problem code -> count
    retries: int = 0
    replays: int = 0
    server_errors: list = field(default_factory=list)  # 500s: never expected
    outage_answers: Counter = field(default_factory=Counter)  # (status, content-type) while down
    stop: threading.Event = field(default_factory=threading.Event)
    postgres_down: threading.Event = field(default_factory=threading.Event)
    failures: list = field(default_factory=list)  # found while running
    acknowledged_before_recovery: int = 0


def route_of(path):
    """The route of a path, for counting answers: ids replaced by placeholders."""
    path = re.sub(r"/v1/subscriptions/[^/]+", "/v1/subscriptions/{id}", path)
    return re.sub(r"/v1/accounts/[^/]+", "/v1/accounts/{account_id}", path)


class Client:
    def __init__(self, servers, admin_key, record, pick):
        self.servers = servers
        self.admin_key = admin_key
        self.record = record
        self.pick = pick  # () -> server index for the next attempt

    def command(self, path, body, not_found_retries=0):
        """POSTs until a definite answer; returns the 2xx body, or None when refused (4xx).
        `not_found_retries`: how often a 404 is retried, for a resource a policy creates soon
        (an account's entitlements follow its trial)."""
        key = str(uuid.uuid4())
        while True:
            server = self.servers[self.pick()]
            url = server.url
            if url is None:
                time.sleep(0.1)
                continue
            down = self.record.postgres_down.is_set()
            status, headers, reply = http("POST", url + path, self.admin_key, body, key)
            if down and self.record.postgres_down.is_set() and status is not None:
                kind = headers.get("Content-Type", "") if headers else ""
                with self.record.lock:
                    self.record.outage_answers[(status, kind)] += 1
            if status is not None and 200 <= status < 300:
                with self.record.lock:
                    self.record.acknowledged.append((key, path, reply))
                    if headers.get("Idempotent-Replayed") == "true":
                        self.record.replays += 1
                return reply
            if status == 500:
                with self.record.lock:
                    self.record.server_errors.append((path, reply))
            code = reply.get("code") if isinstance(reply, dict) else None
            if code == "not_found" and not_found_retries > 0:
                not_found_retries -= 1
                time.sleep(0.2)
                continue
            if status is None or status in RETRIED_STATUSES or code == "concurrency_conflict":
                with self.record.lock:
                    self.record.retries += 1
                time.sleep(0.05 + random.random() * 0.2)
                continue
            with self.record.lock:
                self.record.refused[f"{status} {code} {route_of(path)}"] += 1
            return None


def account_life(client, account, rng):
    """One account's commands: a trial, seats, usage, activation (a declined card opens dunning),
    and for some a new card or a cancellation."""
    card = "pm_card_chargeDeclined" if rng.random() < 0.35 else "pm_card_visa"
    created = client.command("/v1/subscriptions", {
        "account_id": account, "plan_id": rng.choice(["starter", "pro"]), "seats": 1,
        "billing_email": f"{account}@example.com", "payment_method": card})
    if created is None:
        return
    sub = f"/v1/subscriptions/{created['aggregate_id']}"
    steps = [
        (f"{sub}/add-seats", {"count": 1}),
        (f"/v1/accounts/{account}/usage",
         {"feature": "projects", "quantity": 1, "usage_id": str(uuid.uuid4())}),
        (f"{sub}/activate", {}),
        (f"/v1/accounts/{account}/usage",
         {"feature": "api_calls", "quantity": rng.randint(1, 50), "usage_id": str(uuid.uuid4())}),
        (f"{sub}/add-seats", {"count": 1}),
        (f"{sub}/remove-seats", {"count": 1}),
    ]
    if rng.random() < 0.3:
        # Goodwill credit before the activation: the balance pays first (SPEC 11.4).
        steps.insert(2, (f"/v1/accounts/{account}/balance/adjust",
                         {"amount": rng.randint(100, 3000), "currency": "usd",
                          "reason": "crash harness goodwill"}))
    if card != "pm_card_visa" and rng.random() < 0.5:
        steps.append((f"{sub}/attach-billing-account",
                      {"email": f"{account}@example.com", "payment_method": "pm_card_visa"}))
    if rng.random() < 0.15:
        steps.append((f"{sub}/cancel", {"at_period_end": rng.random() < 0.5,
                                        "reason": "customer_request"}))
    for path, body in steps:
        if client.record.stop.is_set():
            return
        client.command(path, body, not_found_retries=50 if path.endswith("/usage") else 0)


def client_loop(number, client, run_id):
    rng = random.Random(f"{run_id}-{number}")
    n = 0
    while not client.record.stop.is_set():
        account_life(client, f"acct_{run_id}_{number}_{n}", rng)
        n += 1


# ---------------------------------------------------------------------------------------------
# The clock: one target time, only moving forward, that every server is advanced to. A restarted
# server starts at the real time again, so it is brought back to the target before clients see it.


class Stuck(Exception):
    """A server that does not recover: its clock cannot be advanced (timers or projections stay
    behind), even though the database is up."""


class TestClock:
    def __init__(self, admin_key, postgres_down):
        self.admin_key = admin_key
        # While the database is down no advance can succeed: wait for it rather than log a
        # failed attempt every half second.
        self.postgres_down = postgres_down
        self.target = None  # RFC 3339 text, set from the first server's clock
        self.epoch = None
        self.advances = 0

    def bring(self, url, server=None):
        """Advances the server at `url` to the target; retries until it answers 200, or until
        `server` no longer serves at `url` (killed: its restart brings it to the target).
        Raises `Stuck` when the server has not managed it in `ADVANCE_PATIENCE` seconds."""
        deadline = time.monotonic() + ADVANCE_PATIENCE
        while server is None or server.url == url:
            if time.monotonic() > deadline:
                raise Stuck(f"{url} could not advance to {self.target} in {ADVANCE_PATIENCE}s")
            if self.postgres_down.is_set():
                time.sleep(0.2)
                continue
            status, _, reply = http("POST", url + "/v1/test-clock/advance", self.admin_key,
                                    {"to": self.target}, timeout=120)
            if status == 200:
                return reply
            if status == 422 and isinstance(reply, dict) and "before" in str(reply.get("detail")):
                return reply  # already there or past it (an earlier attempt got through)
            log(f"advance to {self.target} on {url}: {status} {reply}; retrying")
            time.sleep(0.5)

    def start(self, url):
        _, _, reply = http("GET", url + "/v1/test-clock", self.admin_key)
        self.target = reply["now"]
        self.epoch = calendar.timegm(time.strptime(self.target[:19], "%Y-%m-%dT%H:%M:%S"))

    def step(self, rng):
        self.epoch += rng.randint(1, 4) * DAY + rng.randint(0, DAY)
        self.target = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.epoch))
        self.advances += 1


def advancer_loop(servers, clock, record, rng, interval):
    """Moves the clock every `interval` seconds, on every server that is up. A server restarting
    meanwhile is brought to the target it reads then, and to the next one on the next round."""
    while not record.stop.wait(interval):
        clock.step(rng)
        for server in servers:
            if server.url:
                try:
                    clock.bring(server.url, server)
                except Stuck as stuck:
                    with record.lock:
                        record.failures.append(str(stuck))
                    record.stop.set()
                    return


def restart(server, clock):
    url = server.start()
    clock.bring(url)
    server.url = url


def killer_loop(servers, kills, record, clock, rng, spacing, done):
    for n in range(kills):
        if record.stop.wait(rng.uniform(*spacing)):
            break
        server = rng.choice(servers) if len(servers) == 1 else servers[n % len(servers)]
        log(f"kill -9 server {server.index} (pid {server.process.pid}), kill {n + 1}/{kills}")
        server.kill()
        done.append(server.index)
        time.sleep(rng.uniform(0, 1.0))
        try:
            restart(server, clock)
        except Stuck as stuck:
            with record.lock:
                record.failures.append(str(stuck))
            record.stop.set()
            return
        log(f"server {server.index} back at {server.url}")


def outage(pg, record, down_for, server, admin_key):
    """Stops Postgres for `down_for` seconds. Meanwhile, besides the clients' commands, reads
    are sent too: readiness and a read model must answer 503 problem+json as well."""
    log("stopping Postgres (private cluster)")
    # The outage is from the moment it has stopped (`pg_ctl -w`) to the moment it is told to
    # start: a command may still commit while the shutdown is under way.
    pg.stop()
    record.postgres_down.set()
    back_at = time.monotonic() + down_for
    while time.monotonic() < back_at:
        for path in ("/readyz", "/v1/accounts/acct_outage/summary"):
            status, headers, _ = http("GET", server.url + path, admin_key, timeout=30)
            if status is not None and time.monotonic() < back_at:
                with record.lock:
                    record.outage_answers[(status, headers.get("Content-Type", ""))] += 1
        time.sleep(0.5)
    record.postgres_down.clear()
    pg.start()
    with record.lock:
        record.acknowledged_before_recovery = len(record.acknowledged)
    log("Postgres is back")


def sample_locks(pg, database, record, samples):
    """Samples the granted advisory locks of the run's database: a key held by two sessions at
    once would be two active workers for one projection."""
    sql = ("SELECT coalesce(json_agg(x), '[]') FROM (SELECT classid, objid, count(*) AS holders, "
           "min(pid) AS pid "
           "FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
           f"(SELECT oid FROM pg_database WHERE datname = '{database}') "
           "GROUP BY classid, objid) x")
    while not record.stop.wait(0.5):
        try:
            samples.append(pg.psql("postgres", sql))
        except subprocess.CalledProcessError:
            pass  # Postgres down (outage test)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="target/debug/ledgerline")
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--duration", type=float, default=60, help="seconds of load, at least")
    parser.add_argument("--advance-every", type=float, default=2.0)
    parser.add_argument("--outage", action="store_true",
                        help="run on a private Postgres cluster and restart it midway")
    parser.add_argument("--outage-seconds", type=float, default=8)
    parser.add_argument("--outage-port", type=int, default=5499)
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--seed", default=None)
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--gateway", choices=["sandbox", "stripe"], default="sandbox",
                        help="stripe: charge through the fake Stripe process (--fake-stripe)")
    parser.add_argument("--fake-stripe", default="target/debug/fake-stripe")
    args = parser.parse_args()
    # `timeout` and CI cancel with SIGTERM: stop the servers and drop the database on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    run_id = uuid.uuid4().hex[:8]
    rng = random.Random(args.seed or run_id)
    log(f"run {run_id}: {args.servers} server(s), {args.clients} clients, {args.kills} kills, "
        f"outage {args.outage}, gateway {args.gateway}, at least {args.duration}s "
        f"(seed {args.seed or run_id})")
    pg = Postgres.private(args.outage_port) if args.outage else Postgres(args.pg_host, args.pg_port)
    database = f"ledgerline_reliability_{run_id}"
    pg.psql("postgres", f"CREATE DATABASE {database}")
    log_dir = tempfile.mkdtemp(prefix=f"ledgerline-reliability-{run_id}-")
    admin_key = f"admin_{uuid.uuid4().hex}"
    stripe = FakeStripe(args.fake_stripe, log_dir) if args.gateway == "stripe" else None
    servers = [Server(i, args.binary, pg.url(database), admin_key, log_dir,
                      stripe.server_args() if stripe else (),
                      stripe.server_env() if stripe else None)
               for i in range(args.servers)]
    record = Record()
    clock = TestClock(admin_key, record.postgres_down)
    receiver = Receiver()
    ok = False
    try:
        for n, server in enumerate(servers):
            url = server.start()
            if n == 0:
                clock.start(url)
                receiver.subscribe(url, admin_key)
            clock.bring(url)
            server.url = url
        log(f"servers up: {[s.url for s in servers]}; logs in {log_dir}")
        turn = iter(range(1 << 62))
        turn_lock = threading.Lock()

        def round_robin():
            with turn_lock:
                return next(turn) % len(servers)

        threads = [threading.Thread(target=client_loop, args=(
            n, Client(servers, admin_key, record, round_robin), run_id), daemon=True)
            for n in range(args.clients)]
        threads.append(threading.Thread(target=advancer_loop, args=(
            servers, clock, record, random.Random(rng.random()), args.advance_every),
            daemon=True))
        lock_samples = [] if args.servers > 1 else None
        if lock_samples is not None:
            threads.append(threading.Thread(target=sample_locks, args=(
                pg, database, record, lock_samples), daemon=True))
        for thread in threads:
            thread.start()
        started = time.monotonic()
        kills = []
        # Kills spread over the run: on average one per duration / (kills + 1) seconds, so a
        # single kill lands about midway.
        gap = args.duration / (args.kills + 1)
        spacing = (0.5 * gap, 1.5 * gap)
        killer = threading.Thread(target=killer_loop, args=(
            servers, args.kills, record, clock, random.Random(rng.random()),
            spacing, kills))
        killer.start()
        if args.outage:
            time.sleep(args.duration / 2)
            outage(pg, record, args.outage_seconds, servers[0], admin_key)
        killer.join()
        time.sleep(max(0.0, args.duration - (time.monotonic() - started)))
        log(f"stopping the load after {clock.advances} clock steps")
        record.stop.set()
        for thread in threads:
            thread.join(300)
        died = [s.index for s in servers if s.process.poll() is not None]
        # Settle: one last advance on every server fires what is due and waits for projections.
        for server in servers:
            try:
                clock.bring(server.url, server)
            except Stuck as stuck:
                record.failures.append(str(stuck))
        receiver.wait_for(pg, database)
        for server in servers:
            server.stop()
        results = check(pg, database, record, args.binary, clock.target)
        results["webhooks"] = check_webhooks(pg, database, receiver)
        results["usage"] = check_usage(pg, database)
        results["balance"] = check_balance_payments(pg, database)
        if stripe:
            results["stripe"] = check_stripe(pg, database, stripe)
        ok = summarize(results, record, len(kills), lock_samples, died, args.outage)
    finally:
        record.stop.set()
        for server in servers:
            server.stop()
        receiver.stop()
        if stripe:
            stripe.stop()
        if args.keep_database or not ok:
            log(f"kept database {database} on {pg.host}:{pg.port} and logs in {log_dir}")
        if ok and not args.keep_database:
            shutil.rmtree(log_dir, ignore_errors=True)
            if args.outage:
                pg.destroy()
            else:
                pg.psql("postgres", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        elif args.outage and pg.running():
            pg.stop()  # keep its data directory for a look, but free the port
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
