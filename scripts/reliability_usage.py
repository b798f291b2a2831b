"""The crash harness's checks of money that moves between two aggregates (docs/reliability.md):
usage billed on an account's entitlements is billed once per invoice, and every invoice it was
billed for was issued with exactly those usage lines, so a crash between the bill and the invoice
neither loses the money nor bills it twice; and every debit of a customer balance for an invoice
is recorded on that invoice once, for the same amount (issue #16)."""


def check_usage(pg, database):
    return pg.psql(database, """
        WITH bills AS (
          SELECT payload::jsonb->'UsageBilled' AS bill FROM events
          WHERE event_type = 'UsageBilled')
        SELECT json_build_object(
          'bills', (SELECT count(*) FROM bills),
          'lines', (SELECT coalesce(sum(jsonb_array_length(bill->'lines')), 0) FROM bills),
          'billed_twice', (SELECT coalesce(json_agg(id), '[]') FROM (
              SELECT bill->>'invoice_id' AS id FROM bills
              GROUP BY 1 HAVING count(*) > 1) d),
          'not_invoiced', (SELECT coalesce(json_agg(bill->>'invoice_id'), '[]') FROM bills
              WHERE jsonb_array_length(bill->'lines') > 0
                AND NOT EXISTS (
                  SELECT 1 FROM events i
                  WHERE i.aggregate_type = 'invoice' AND i.event_type = 'InvoiceIssued'
                    AND i.aggregate_id = bill->>'invoice_id'
                    AND (i.payload::jsonb->'InvoiceIssued'->'lines') @> (bill->'lines'))))""")


def summarize_usage(usage):
    """The SUMMARY line's usage figures, and what failed."""
    failures = [f"usage {problem}: {len(usage[problem])}, e.g. {usage[problem][:3]}"
                for problem in ("billed_twice", "not_invoiced") if usage[problem]]
    figures = (f" usage_bills={usage['bills']} usage_lines={usage['lines']} "
               f"usage_billed_twice={len(usage['billed_twice'])} "
               f"usage_not_invoiced={len(usage['not_invoiced'])}")
    return figures, failures


def check_balance_payments(pg, database):
    return pg.psql(database, """
        WITH debits AS (
          SELECT payload::jsonb->'BalanceApplied' AS debit FROM events
          WHERE event_type = 'BalanceApplied'),
        payments AS (
          SELECT aggregate_id AS invoice_id, payload::jsonb->'PaymentRecorded' AS payment
          FROM events
          WHERE event_type = 'PaymentRecorded'
            AND payload::jsonb->'PaymentRecorded'->>'payment_ref' LIKE 'customer_balance:%')
        SELECT json_build_object(
          'debits', (SELECT count(*) FROM debits),
          'debited_twice', (SELECT coalesce(json_agg(id), '[]') FROM (
              SELECT debit->>'invoice_id' AS id FROM debits GROUP BY 1 HAVING count(*) > 1) d),
          'not_paid', (SELECT coalesce(json_agg(debit->>'invoice_id'), '[]') FROM debits
              WHERE NOT EXISTS (
                SELECT 1 FROM payments p
                WHERE p.invoice_id = debit->>'invoice_id'
                  AND (p.payment->'amount'->>'amount')::bigint
                      = -((debit->'amount'->>'amount')::bigint))),
          'paid_without_debit', (SELECT coalesce(json_agg(invoice_id), '[]') FROM payments p
              WHERE NOT EXISTS (
                SELECT 1 FROM debits WHERE debit->>'invoice_id' = p.invoice_id)))""")


def summarize_balance(balance):
    """The SUMMARY line's balance-payment figures, and what failed."""
    problems = ("debited_twice", "not_paid", "paid_without_debit")
    failures = [f"balance {problem}: {len(balance[problem])}, e.g. {balance[problem][:3]}"
                for problem in problems if balance[problem]]
    figures = (f" balance_debits={balance['debits']} "
               + " ".join(f"balance_{problem}={len(balance[problem])}" for problem in problems))
    return figures, failures
