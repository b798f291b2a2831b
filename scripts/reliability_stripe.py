"""The Stripe side of the crash test (issue #14): the fake Stripe as a process (`fake-stripe`,
tests/src/fake_stripe/; the one permitted fake, since these machines cannot reach Stripe), the
flags that point the servers at it, and the checks after the kills. Money is right when:

- every invoice the log records as paid with money from the card (`InvoicePaid`, less what the
  customer balance paid, > 0) has exactly one succeeded PaymentIntent in the fake, for that
  amount: no card charged twice, none paid without a charge;
- every succeeded PaymentIntent belongs to an invoice the log records as paid: no money taken
  that Ledgerline does not know about.

Python 3.11 standard library only, like the rest of the harness.
"""

import os
import subprocess
from collections import defaultdict

from reliability_processes import LISTENING, http, log

# The key the fake accepts (tests/src/fake_stripe/, STRIPE_KEY).
STRIPE_KEY = "sk_test_fake_ledgerline_key"


class FakeStripe:
    def __init__(self, binary, log_dir):
        self.log = open(os.path.join(log_dir, "fake-stripe.log"), "w")
        self.process = subprocess.Popen([binary], stdout=subprocess.PIPE, stderr=self.log,
                                        text=True)
        found = LISTENING.search(self.process.stdout.readline())
        if not found:
            raise RuntimeError("the fake Stripe did not start")
        self.url = found.group(1)
        log(f"fake Stripe at {self.url}")

    def server_args(self):
        return ["--payment-gateway", "stripe", "--stripe-api-base", self.url]

    def server_env(self):
        return {"STRIPE_API_KEY": STRIPE_KEY}

    def intents(self):
        status, _, body = http("GET", self.url + "/_fake/payment_intents", STRIPE_KEY)
        if status != 200:
            raise RuntimeError(f"the fake Stripe's intents answered {status}: {body}")
        return body["data"]

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.log.close()


def check_stripe(pg, database, fake):
    """The fake's PaymentIntents against the invoices the log records as paid."""
    # What the card paid: the amount paid, less what the customer balance paid (SPEC 11.4).
    paid = pg.psql(database, """
        WITH from_balance AS (
          SELECT aggregate_id,
                 sum((payload::json->'PaymentRecorded'->'amount'->>'amount')::bigint) AS amount
            FROM events
           WHERE aggregate_type = 'invoice' AND event_type = 'PaymentRecorded'
             AND payload::json->'PaymentRecorded'->>'payment_ref' LIKE 'customer_balance:%'
           GROUP BY aggregate_id)
        SELECT coalesce(json_object_agg(e.aggregate_id,
                 (e.payload::json->'InvoicePaid'->'amount_paid'->>'amount')::bigint
                 - coalesce(b.amount, 0)), '{}')
          FROM events e LEFT JOIN from_balance b USING (aggregate_id)
         WHERE e.aggregate_type = 'invoice' AND e.event_type = 'InvoicePaid'""")
    intents = fake.intents()
    charges = defaultdict(list)
    for intent in intents:
        if intent["status"] == "succeeded":
            charges[intent["metadata"].get("ledgerline_invoice_id")].append(intent)
    charged_paid = {invoice: amount for invoice, amount in paid.items() if amount > 0}
    return {
        "intents": len(intents),
        "charges": sum(len(found) for found in charges.values()),
        "paid_invoices": len(charged_paid),
        "charged_twice": sorted(i for i in charged_paid if len(charges.get(i, [])) > 1),
        "paid_without_charge": sorted(i for i in charged_paid if not charges.get(i)),
        "wrong_amount": sorted(i for i, amount in charged_paid.items()
                               if len(charges.get(i, [])) == 1
                               and charges[i][0]["amount"] != amount),
        "orphan_charges": sorted(intent["id"] for invoice, found in charges.items()
                                 if invoice not in charged_paid for intent in found),
    }


def summarize_stripe(stripe):
    """The SUMMARY line's Stripe figures, and what failed."""
    failures = [f"stripe {problem}: {len(stripe[problem])}, e.g. {stripe[problem][:3]}"
                for problem in ("charged_twice", "paid_without_charge", "wrong_amount",
                                "orphan_charges") if stripe[problem]]
    if not stripe["charges"]:
        failures.append("no card was charged in the fake Stripe: the check saw nothing")
    figures = (f" stripe_intents={stripe['intents']} stripe_charges={stripe['charges']} "
               f"stripe_paid_invoices={stripe['paid_invoices']} "
               f"stripe_charged_twice={len(stripe['charged_twice'])} "
               f"stripe_orphan_charges={len(stripe['orphan_charges'])}")
    return figures, failures
