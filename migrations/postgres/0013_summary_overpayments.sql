-- The account summary shows the overpayments a payment attempt took beyond what an invoice still
-- owed (issue #20, H2): held (not yet refunded) and refunded, per invoice and per account.
-- OverpaymentReceived did not exist before this release, so 0 is the true value of every row.
ALTER TABLE account_summary_invoices ADD COLUMN overpaid_held BIGINT NOT NULL DEFAULT 0;
ALTER TABLE account_summary_invoices ADD COLUMN overpaid_refunded BIGINT NOT NULL DEFAULT 0;
ALTER TABLE account_summaries ADD COLUMN overpaid_held_amount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE account_summaries ADD COLUMN overpaid_refunded_amount BIGINT NOT NULL DEFAULT 0;
