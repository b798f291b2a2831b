"""The reliability harness's checks (docs/reliability.md), run on the database once the load has
stopped, and the summary that judges them."""

import json
import os
import re
import subprocess

from reliability_processes import log
from reliability_stripe import summarize_stripe
from reliability_usage import summarize_balance, summarize_usage


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

    # Notifications: one per (account, kind, subject) in the outbox, and one recorded event per
    # (case, dedupe key). The subject is what a notification is about: its dunning case, else its
    # invoice (receipts: an account has one per paid invoice), else its subscription (trial
    # warnings).
    notifications = pg.psql(database, """
        SELECT json_build_object(
          'outbox', (SELECT count(*) FROM notifications),
          'duplicated_outbox', (SELECT count(*) FROM (
              SELECT 1 FROM notifications
              GROUP BY account_id, kind, COALESCE(payload::json->>'dunning_case_id',
                                                  payload::json->>'invoice_id',
                                                  payload::json->>'subscription_id')
              HAVING count(*) > 1) d),
          'duplicated_events', (SELECT count(*) FROM (
              SELECT 1 FROM events WHERE event_type = 'NotificationRecorded'
              GROUP BY aggregate_id, payload::text HAVING count(*) > 1) d),
          'recorded_events', (SELECT count(*) FROM events
                              WHERE event_type = 'NotificationRecorded'))""")
    results["notifications"] = notifications

    # Invoice numbers (docs/billing.md): every issued invoice numbered once, the numbers of the
    # prefix's stream consecutive from 1 (the stream's sequence is the number's).
    results["invoice_numbers"] = pg.psql(database, """
        SELECT json_build_object(
          'issued', (SELECT count(*) FROM events
                     WHERE aggregate_type = 'invoice' AND event_type = 'InvoiceIssued'),
          'numbered', count(*),
          'invoices', count(DISTINCT payload->'InvoiceNumberAssigned'->>'invoice_id'),
          'out_of_sequence', count(*) FILTER (
              WHERE (payload->'InvoiceNumberAssigned'->>'sequence')::bigint <> sequence))
        FROM events WHERE aggregate_type = 'invoice_numbering'""")

    # Audit verify: every read model against a full replay of the log. Its last line is
    # "N mismatches" ("N mismatches; K FAILED, not verified" when a projection stopped at an event
    # it cannot apply); it exits 0 when N is 0, 1 on a mismatch, 2 when it could not verify.
    verify = subprocess.run([binary, "audit", "verify"], capture_output=True, text=True,
                            env=dict(os.environ, DATABASE_URL=pg.url(database)))
    found = re.search(r"^(\d+) mismatches$", verify.stdout, re.MULTILINE)
    results["verify"] = {"status": "ok" if verify.returncode == 0 else "failed",
                         "mismatches": int(found.group(1)) if found else None,
                         "detail": verify.stdout[-2000:] + verify.stderr[-2000:]}
    return results


def summarize(results, record, kills, lock_samples, died, pg_was_down):
    lost = len(results["lost"])
    duplicated = (len(results["duplicated_keys"]) + len(results["duplicated_reactions"])
                  + results["timers"]["fired_twice"]
                  + results["notifications"]["duplicated_outbox"]
                  + results["notifications"]["duplicated_events"])
    verify = results["verify"]
    mismatches = verify["mismatches"]
    failures = list(record.failures)
    if lost:
        failures.append(f"lost: {results['lost'][:5]}")
    if duplicated:
        failures.append(f"duplicated: keys {results['duplicated_keys'][:5]} reactions "
                        f"{results['duplicated_reactions'][:5]} timers {results['timers']} "
                        f"notifications {results['notifications']}")
    numbers = results["invoice_numbers"]
    log(f"invoice numbers: {numbers}")
    if (numbers["numbered"] != numbers["issued"] or numbers["invoices"] != numbers["numbered"]
            or numbers["out_of_sequence"]):
        failures.append(f"invoice numbers are not one per issued invoice, gapless: {numbers}")
    if not numbers["issued"]:
        failures.append("no invoice was issued: the invoice numbers check saw nothing")
    if results["timers"]["due_unfired"]:
        failures.append(f"due timers not fired: {results['timers']}")
    if record.server_errors:
        failures.append(f"{len(record.server_errors)} answers were 500: "
                        f"{record.server_errors[:3]}")
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
    hooks = results["webhooks"]
    log(f"webhooks: {hooks['events']} events, {hooks['received']} deliveries, "
        f"{hooks['unique']} distinct")
    for problem in ("missing", "unknown", "out_of_order", "mislabelled"):
        if hooks[problem]:
            failures.append(f"webhooks {problem}: {len(hooks[problem])}, e.g. {hooks[problem][:3]}")
    if hooks["bad_signatures"]:
        failures.append(f"webhooks: {hooks['bad_signatures']} deliveries failed verification")
    if not hooks["events"]:
        failures.append("no integration event was produced: the webhook check saw nothing")
    log(f"refused (expected business answers): {dict(record.refused)}")
    log(f"retries {record.retries}, idempotent replays {record.replays}, timers {results['timers']}"
        f", notifications {results['notifications']}")
    usage_figures, usage_failures = summarize_usage(results["usage"])
    failures.extend(usage_failures)
    balance_figures, balance_failures = summarize_balance(results["balance"])
    failures.extend(balance_failures)
    stripe_figures = ""
    if "stripe" in results:
        stripe_figures, stripe_failures = summarize_stripe(results["stripe"])
        failures.extend(stripe_failures)
    print(f"SUMMARY commands acknowledged={results['acknowledged']} kills={kills} lost={lost} "
          f"duplicated={duplicated} mismatches={mismatches} server_errors="
          f"{len(record.server_errors)} webhook_events={hooks['events']} "
          f"webhook_deliveries={hooks['received']} webhook_missing={len(hooks['missing'])} "
          f"webhook_out_of_order={len(hooks['out_of_order'])}{usage_figures}{balance_figures}"
          f"{stripe_figures}",
          flush=True)
    for failure in failures:
        log(f"FAIL {failure}")
    return not failures
