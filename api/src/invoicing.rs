//! How this installation numbers its invoices (SPEC 11.5): the options of `ledgerline serve`
//! that every replica on one database must share.

use clap::Args;
use domain::InvoicePrefix;

#[derive(Debug, Args)]
pub struct InvoicingArgs {
    /// What invoice numbers start with (`LL` gives `LL-000001`): 1 to 16 upper-case letters or
    /// digits. Each prefix has its own gapless sequence; give every replica the same one.
    #[arg(
        long,
        env = "LEDGERLINE_INVOICE_PREFIX",
        default_value = "LL",
        value_parser = InvoicePrefix::parse
    )]
    pub invoice_prefix: InvoicePrefix,
}
