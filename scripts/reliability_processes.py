"""The processes the reliability harness drives (docs/reliability.md): Postgres (the shared
cluster, or a private throwaway one for the outage test) and `ledgerline serve` servers."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

LISTENING = re.compile(r"listening on (http://\S+)")


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
    def __init__(self, index, binary, database_url, admin_key, log_dir, extra_args=(),
                 extra_env=None):
        self.index = index
        self.binary = binary
        self.extra_args = list(extra_args)  # e.g. the payment gateway's flags
        self.env = dict(os.environ, DATABASE_URL=database_url, LEDGERLINE_ADMIN_KEY=admin_key,
                        LEDGERLINE_LOG="info", **(extra_env or {}))
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
            # The harness's webhook receiver listens on loopback.
            [self.binary, "serve", "--bind", "127.0.0.1:0", "--test-clock",
             "--webhook-allow-private", *self.extra_args], env=self.env,
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
