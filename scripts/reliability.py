#!/usr/bin/env python3
"""The reliability harness (docs/reliability.md): drives a mixed billing load from concurrent
clients against real `ledgerline serve --test-clock` processes on Postgres while it kills them
(`--kills`), spreads the load over replicas (`--servers`) or takes Postgres down (`--outage`),
then checks the database: nothing acknowledged lost, nothing appended twice, read models equal a
replay (`ledgerline audit verify`), every due timer fired once, no notification sent twice.

Python 3.11 standard library only, so the scripts run with nothing to compile or install; the
checks read the database through `psql`, the same SQL an operator would run.
"""

import argparse
import calendar
import json
import os
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

DAY = 24 * 60 * 60
LISTENING = re.compile(r"listening on (http://\S+)")
# Statuses a client retries with the same Idempotency-Key: the command may or may not have run.
RETRIED_STATUSES = {500, 502, 503, 504}
# How long a server may take to advance its clock, retries included, before the run fails: an
# advance itself gives up after 60 s; this covers a restart, an outage and a slow machine.
ADVANCE_PATIENCE = 600


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# Postgres: the shared cluster (a fresh database per run) or a private one for the outage test.


@dataclass
class Postgres:
    host: str
    port: int
    user: str = "postgres"
    private_dir: str | None = None  # set for a throwaway cluster this harness owns

    def url(self, database):
        return f"postgres://{self.user}@{self.host}:{self.port}/{database}"

    def psql(self, database, sql):
        """Runs `sql` and returns its single value, parsed as JSON when it is one."""
        # On stdin: the acknowledged commands, inlined as JSON, outgrow an argument list.
        out = subprocess.run(
            ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", self.host, "-p",
             str(self.port), "-U", self.user, "-d", database], input=sql,
            check=True, capture_output=True, text=True).stdout.strip()
        return json.loads(out) if out else None

    @staticmethod
    def private(port):
        """initdb + start a throwaway cluster on 127.0.0.1:`port`, run as the postgres user."""
        bin_dir = "/usr/lib/postgresql/15/bin"
        root = tempfile.mkdtemp(prefix="ledgerline-outage-")
        shutil.chown(root, "postgres")
        pg = Postgres("127.0.0.1", port, private_dir=root)
        as_postgres(f"{bin_dir}/initdb -A trust -U postgres -D {root}/data >/dev/null")
        pg.start()
        return pg

    def pg_ctl(self, action):
        options = f"-p {self.port} -k {self.private_dir} -c listen_addresses=127.0.0.1"
        as_postgres(f"/usr/lib/postgresql/15/bin/pg_ctl -D {self.private_dir}/data -w -m fast "
                    f"-l {self.private_dir}/postgres.log -o '{options}' {action} >/dev/null")

    def start(self):
        self.pg_ctl("start")

    def stop(self):
        self.pg_ctl("stop")

    def running(self):
        return os.path.exists(f"{self.private_dir}/data/postmaster.pid")

    def destroy(self):
        self.stop()
        shutil.rmtree(self.private_dir, ignore_errors=True)


def as_postgres(command):
    runner = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    subprocess.run(runner + ["sh", "-c", command], check=True)


# ---------------------------------------------------------------------------------------------
# Servers: real `ledgerline serve` processes, each on port 0; the address is read from its log.


class Server:
    def __init__(self, index, binary, database_url, admin_key, log_dir):
        self.index = index
        self.binary = binary
        self.env = dict(os.environ, DATABASE_URL=database_url, LEDGERLINE_ADMIN_KEY=admin_key,
                        LEDGERLINE_LOG="info")
        self.log_path = os.path.join(log_dir, f"server-{index}.log")
        self.process = None
        self.url = None  # None while down or not yet back in step with the clock
        self.starts = 0

    def start(self):
        self.starts += 1
        log_file = open(self.log_path, "a")
        log_file.write(f"==== start {self.starts}\n")
        log_file.flush()
        self.process = subprocess.Popen(
            [self.binary, "serve", "--bind", "127.0.0.1:0", "--test-clock"], env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # Copy the log to the file in the background; learn the address from it.
        found = threading.Event()
        address = {}

        def pump():
            for line in self.process.stdout:
                log_file.write(line)
                log_file.flush()
                match = LISTENING.search(line)
                if match and not found.is_set():
                    address["url"] = match.group(1)
                    found.set()
            found.set()
            log_file.close()

        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(120) or "url" not in address:
            raise RuntimeError(f"server {self.index} did not start; see {self.log_path}")
        return address["url"]

    def kill(self):
        self.url = None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        self.url = None
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


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


def http(method, url, admin_key, body=None, key=None, timeout=90):
    """One HTTP exchange: (status, headers, parsed body), or (None, None, error) when no answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {admin_key}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode(errors="replace")
        return error.code, error.headers, parsed
    except (OSError, urllib.error.URLError) as error:
        return None, None, str(error)


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


# ---------------------------------------------------------------------------------------------
# The checks, on the database once the load has stopped and everything has settled.


def check(pg, database, record, binary, now):
    results = {}

    acknowledged = [(key, reply) for key, _, reply in record.acknowledged
                    if isinstance(reply, dict) and "aggregate_id" in reply]
    rows = [{"k": key, "t": r["aggregate_type"], "i": r["aggregate_id"], "v": r["version"],
             "p": r.get("position")} for key, r in acknowledged]
    results["acknowledged"] = len(rows)
    payload = json.dumps(rows).replace("'", "''")
    # An acknowledged command is in the log when its stream holds the version it answered, at the
    # position it answered; its command record (the key, scoped by the admin actor) exists too.
    lost = pg.psql(database, f"""
        WITH ack AS (SELECT * FROM json_to_recordset('{payload}'::json)
                     AS (k text, t text, i text, v bigint, p bigint))
        SELECT coalesce(json_agg(ack.k), '[]') FROM ack
        WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.aggregate_type = ack.t
                            AND e.aggregate_id = ack.i AND e.sequence = ack.v
                            AND (ack.p IS NULL OR e.position = ack.p))
           OR NOT EXISTS (SELECT 1 FROM commands c WHERE c.command_id LIKE '%:' || ack.k
                            AND c.aggregate_type = ack.t AND c.aggregate_id = ack.i
                            AND c.version = ack.v)""")
    results["lost"] = lost

    # No key appended twice: every key's events come from one transaction. The same for every
    # reaction and timer command: (aggregate, command, cause) commits once.
    dup_keys = pg.psql(database, """
        SELECT coalesce(json_agg(k), '[]') FROM (
          SELECT metadata->>'idempotency_key' AS k FROM events
          WHERE metadata ? 'idempotency_key'
          GROUP BY 1 HAVING count(DISTINCT tx_id) > 1) d""")
    dup_reactions = pg.psql(database, """
        SELECT coalesce(json_agg(d), '[]') FROM (
          SELECT aggregate_type, aggregate_id, metadata->>'command' AS command,
                 metadata->>'causation_id' AS cause, count(DISTINCT tx_id) AS appends
          FROM events WHERE metadata->>'actor' LIKE 'system:%'
          GROUP BY 1, 2, 3, 4 HAVING count(DISTINCT tx_id) > 1) d""")
    results["duplicated_keys"] = dup_keys
    results["duplicated_reactions"] = dup_reactions

    # Timers: every timer due by the final clock fired; each fired command appended once (the
    # reactions check above covers `timer:<id>` causes); none left claimed and unfired.
    timers = pg.psql(database, f"""
        SELECT json_build_object(
          'total', count(*),
          'fired', count(*) FILTER (WHERE fired_at IS NOT NULL),
          'due_unfired', count(*) FILTER (WHERE fired_at IS NULL
                                          AND due_at <= '{now}'::timestamptz),
          'fired_twice', (SELECT count(*) FROM (
              SELECT metadata->>'causation_id' FROM events
              WHERE metadata->>'causation_id' LIKE 'timer:%'
              GROUP BY metadata->>'causation_id', metadata->>'command', aggregate_id
              HAVING count(DISTINCT tx_id) > 1) t))
        FROM timers""")
    results["timers"] = timers

    # Notifications: one per (account, kind, case) in the outbox, and one recorded event per
    # (case, dedupe key).
    notifications = pg.psql(database, """
        SELECT json_build_object(
          'sent', (SELECT count(*) FROM notifications),
          'duplicated_outbox', (SELECT count(*) FROM (
              SELECT 1 FROM notifications
              GROUP BY account_id, kind, payload::json->>'dunning_case_id'
              HAVING count(*) > 1) d),
          'duplicated_events', (SELECT count(*) FROM (
              SELECT 1 FROM events WHERE event_type = 'NotificationRecorded'
              GROUP BY aggregate_id, payload::text HAVING count(*) > 1) d),
          'events', (SELECT count(*) FROM events WHERE event_type = 'NotificationRecorded'))""")
    results["notifications"] = notifications

    # Audit verify: read models against a full replay (built by the audit work; separate check).
    verify = subprocess.run([binary, "audit", "verify"], capture_output=True, text=True,
                            env=dict(os.environ, DATABASE_URL=pg.url(database)))
    if verify.returncode == 2 and "unrecognized subcommand" in verify.stderr:
        results["verify"] = {"status": "pending", "mismatches": None,
                             "detail": "`ledgerline audit verify` is not in this build"}
    else:
        found = re.search(r'"mismatches"\s*:\s*(\d+)|mismatches\D*(\d+)', verify.stdout)
        count = int(next(g for g in found.groups() if g)) if found else None
        results["verify"] = {"status": "ok" if verify.returncode == 0 else "failed",
                             "mismatches": count, "detail": verify.stdout[-2000:]
                             + verify.stderr[-2000:]}
    return results


def summarize(results, record, kills, lock_samples, died, pg_was_down, require_verify):
    lost = len(results["lost"])
    duplicated = (len(results["duplicated_keys"]) + len(results["duplicated_reactions"])
                  + results["timers"]["fired_twice"]
                  + results["notifications"]["duplicated_outbox"]
                  + results["notifications"]["duplicated_events"])
    verify = results["verify"]
    mismatches = verify["mismatches"] if verify["status"] != "pending" else "pending"
    failures = list(record.failures)
    if lost:
        failures.append(f"lost: {results['lost'][:5]}")
    if duplicated:
        failures.append(f"duplicated: keys {results['duplicated_keys'][:5]} reactions "
                        f"{results['duplicated_reactions'][:5]} timers {results['timers']} "
                        f"notifications {results['notifications']}")
    if results["timers"]["due_unfired"]:
        failures.append(f"due timers not fired: {results['timers']}")
    if record.server_errors:
        failures.append(f"{len(record.server_errors)} answers were 500: "
                        f"{record.server_errors[:3]}")
    if verify["status"] == "pending" and require_verify:
        failures.append("audit verify is required but not in this build")
    if verify["status"] == "failed":
        failures.append(f"audit verify failed: {verify['detail']}")
    if lock_samples is not None:
        doubled = [s for sample in lock_samples for s in sample if s["holders"] > 1]
        keys = {(s["classid"], s["objid"]) for sample in lock_samples for s in sample}
        holders = {}
        handovers = 0
        for sample in lock_samples:
            for s in sample:
                key = (s["classid"], s["objid"])
                handovers += key in holders and holders[key] != s["pid"]
                holders[key] = s["pid"]
        log(f"advisory locks: {len(lock_samples)} samples, {len(keys)} projection keys seen, "
            f"{handovers} handovers to another session, {len(doubled)} samples with a key held "
            "twice")
        if doubled:
            failures.append(f"a projection lock held by two sessions: {doubled[:3]}")
        if not keys:
            failures.append("no advisory lock was ever sampled: the check saw nothing")
    if pg_was_down:
        bad = {k: v for k, v in record.outage_answers.items()
               if not (k[0] == 503 and k[1].startswith("application/problem+json"))}
        log(f"answers while Postgres was down: {dict(record.outage_answers)}")
        if bad:
            failures.append(f"answers other than 503 problem+json during the outage: {bad}")
        if not record.outage_answers:
            failures.append("no request was answered during the outage: the check saw nothing")
        recovered = len(record.acknowledged) - record.acknowledged_before_recovery
        log(f"commands acknowledged after Postgres came back: {recovered}")
        if not recovered:
            failures.append("no command was acknowledged after Postgres came back")
    for index in died:
        failures.append(f"server {index} exited by itself")
    log(f"refused (expected business answers): {dict(record.refused)}")
    log(f"retries {record.retries}, idempotent replays {record.replays}, timers {results['timers']}"
        f", notifications {results['notifications']}")
    print(f"SUMMARY commands acknowledged={results['acknowledged']} kills={kills} lost={lost} "
          f"duplicated={duplicated} mismatches={mismatches} server_errors="
          f"{len(record.server_errors)}", flush=True)
    if verify["status"] == "pending":
        log("PENDING: audit verify is not available in this build; the read-model check did "
            "not run")
    for failure in failures:
        log(f"FAIL {failure}")
    return not failures


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
    parser.add_argument("--require-verify", action="store_true",
                        help="fail when `ledgerline audit verify` is not in the build")
    args = parser.parse_args()
    # `timeout` and CI cancel with SIGTERM: stop the servers and drop the database on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    run_id = uuid.uuid4().hex[:8]
    rng = random.Random(args.seed or run_id)
    log(f"run {run_id}: {args.servers} server(s), {args.clients} clients, {args.kills} kills, "
        f"outage {args.outage}, at least {args.duration}s (seed {args.seed or run_id})")
    pg = Postgres.private(args.outage_port) if args.outage else Postgres(args.pg_host, args.pg_port)
    database = f"ledgerline_reliability_{run_id}"
    pg.psql("postgres", f"CREATE DATABASE {database}")
    log_dir = tempfile.mkdtemp(prefix=f"ledgerline-reliability-{run_id}-")
    admin_key = f"admin_{uuid.uuid4().hex}"
    servers = [Server(i, args.binary, pg.url(database), admin_key, log_dir)
               for i in range(args.servers)]
    record = Record()
    clock = TestClock(admin_key, record.postgres_down)
    ok = False
    try:
        for n, server in enumerate(servers):
            url = server.start()
            if n == 0:
                clock.start(url)
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
        for server in servers:
            server.stop()
        results = check(pg, database, record, args.binary, clock.target)
        ok = summarize(results, record, len(kills), lock_samples, died, args.outage,
                       args.require_verify)
    finally:
        record.stop.set()
        for server in servers:
            server.stop()
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
