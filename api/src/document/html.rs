//! The document as a printable HTML page, from `api/templates/invoice_document.html` (checked at
//! compile time by askama, every value escaped). The page needs nothing from the network: its
//! styles are inline, and it prints on A4 or Letter.

use askama::Template;

use super::InvoiceDocument;

#[derive(Template)]
#[template(path = "invoice_document.html")]
struct Page<'a> {
    document: &'a InvoiceDocument,
}

/// The HTML page of `document`.
pub fn render_html(document: &InvoiceDocument) -> Result<String, askama::Error> {
    Page { document }.render()
}
