"""The crash harness's usage-billing check (issue #15, docs/reliability.md): usage billed on an
account's entitlements is billed once per invoice, and every invoice it was billed for was issued
with exactly those usage lines, so a crash between the bill and the invoice neither loses the
money nor bills it twice."""


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
