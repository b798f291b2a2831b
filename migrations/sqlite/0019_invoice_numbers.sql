-- Invoice numbers (SPEC 11.5): the numbering policy assigns one after the invoice is issued, so
-- a row has none (null) until its `InvoiceNumberAssigned` is projected.
ALTER TABLE account_invoices ADD COLUMN number text;
