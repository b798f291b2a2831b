//! How this installation numbers and prints its invoices (SPEC 11.5): the options of
//! `ledgerline serve` that every replica on one database must share.

use clap::Args;
use domain::InvoicePrefix;

use crate::document::Seller;

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

    /// The seller's name, printed at the top of every invoice document.
    #[arg(long, env = "LEDGERLINE_SELLER_NAME", default_value = "Ledgerline", value_parser = not_blank)]
    pub seller_name: String,

    /// The seller's postal address on invoice documents, its lines separated by `;`
    /// (`1 Main St;Springfield`).
    #[arg(long, env = "LEDGERLINE_SELLER_ADDRESS", value_delimiter = ';')]
    pub seller_address: Vec<String>,

    /// The seller's contact email on invoice documents.
    #[arg(long, env = "LEDGERLINE_SELLER_EMAIL")]
    pub seller_email: Option<String>,

    /// The seller's tax registration number (VAT ID, …) on invoice documents.
    #[arg(long, env = "LEDGERLINE_SELLER_TAX_ID")]
    pub seller_tax_id: Option<String>,
}

impl InvoicingArgs {
    /// The seller the documents print; blank address lines and fields are left out.
    pub fn seller(&self) -> Seller {
        let present = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Seller {
            name: self.seller_name.trim().to_owned(),
            address: self
                .seller_address
                .iter()
                .map(|line| line.trim())
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect(),
            email: present(&self.seller_email),
            tax_id: present(&self.seller_tax_id),
        }
    }
}

fn not_blank(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        Err("must not be blank".into())
    } else {
        Ok(value.to_owned())
    }
}
