//! Policies and the Dunning process manager (SPEC section 4). They arrive with invoices and payments.
