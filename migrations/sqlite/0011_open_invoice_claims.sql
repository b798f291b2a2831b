-- An open invoice of a subscription holds the claim `open_invoice:<subscription>:<invoice>`, so
-- that a cancellation finds every open invoice of its subscription, manual ones included
-- (issue #20, M2). Invoices opened before this migration get theirs here: issued with a
-- subscription and not yet paid, voided or written off.
INSERT INTO unique_claims (claim, aggregate_type, aggregate_id)
SELECT 'open_invoice:' || json_extract(issued.payload, '$.InvoiceIssued.subscription_id') || ':'
           || issued.aggregate_id,
       'invoice',
       issued.aggregate_id
  FROM events issued
 WHERE issued.aggregate_type = 'invoice'
   AND issued.event_type = 'InvoiceIssued'
   AND json_extract(issued.payload, '$.InvoiceIssued.subscription_id') IS NOT NULL
   AND NOT EXISTS (SELECT 1
                     FROM events closed
                    WHERE closed.aggregate_type = 'invoice'
                      AND closed.aggregate_id = issued.aggregate_id
                      AND closed.event_type IN
                          ('InvoicePaid', 'InvoiceVoided', 'InvoiceMarkedUncollectible'))
ON CONFLICT (claim) DO NOTHING;

-- A closed dunning case withdraws its unfired timers.
CREATE INDEX timers_unfired_by_aggregate ON timers (aggregate_id) WHERE fired_at IS NULL;
