//! Invoice documents over HTTP (SPEC 11.5), on both backends: the printable HTML page and the
//! PDF show the seller from the command line, the number, the total, the amount due and the
//! payments; the PDF's text, extracted as a reader would, says the same; the document agrees
//! with the invoice's point-in-time state of the audit API (issue #15); an account key sees its
//! own invoice's document and another account's answers as an unknown invoice does.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::json;
use support::{Api, Server};

const SELLER: [&str; 6] = [
    "--seller-name",
    "Acme Software Ltd",
    "--seller-address",
    "1 Main Street;Springfield",
    "--seller-email",
    "billing@acme.test",
];

/// Issues a manual invoice of 2 × 1900 usd for `account` and records 900 paid by wire; returns
/// its id and its number.
async fn paid_in_part(api: &Api, account: &str) -> (String, String) {
    let id = api
        .issue_manual_invoice(account, "Onboarding workshop", 2, 1900)
        .await;
    api.post(
        &format!("/v1/invoices/{id}/record-payment"),
        json!({"amount": 900, "payment_ref": "wire_42"}),
    )
    .await
    .assert_status(200);
    let number = api.invoice_number(&id).await;
    (id, number)
}

/// `minor` units of usd as the document prints them.
fn usd(minor: i64) -> String {
    format!("{}.{:02} USD", minor / 100, minor % 100)
}

/// The document and the audit API's state of the invoice, read at the same moment, agree: every
/// line's description and amount, the total, what was paid and what is still due.
fn assert_agrees_with_the_state(html: &str, state: &serde_json::Value) {
    let issued = &state["issued"];
    let amount = |field: &str| issued[field]["amount"].as_i64().expect(field);
    for line in issued["lines"].as_array().expect("lines") {
        let description = line["description"].as_str().expect("a description");
        let line_amount = line["amount"]["amount"].as_i64().expect("an amount");
        assert!(html.contains(description), "{description} missing");
        assert!(
            html.contains(&usd(line_amount)),
            "{} missing",
            usd(line_amount)
        );
    }
    let (total, paid) = (amount("total"), amount("amount_paid"));
    for shown in [usd(total), usd(paid), usd(total - paid)] {
        assert!(html.contains(&shown), "{shown} missing from {html}");
    }
}

/// The text of every page of `pdf`.
fn pdf_text(pdf: &[u8]) -> String {
    let document = lopdf::Document::load_mem(pdf).expect("a PDF lopdf reads");
    let pages: Vec<u32> = document.get_pages().keys().copied().collect();
    document.extract_text(&pages).expect("its text")
}

async fn the_document_renders_as_html_and_as_pdf(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &SELLER);
    let api = Api::admin(&server.base_url);
    let (id, number) = paid_in_part(&api, "acct_document").await;
    assert_eq!(number, "LL-000001");
    let path = format!("/v1/invoices/{id}/document");

    let (status, headers, html) = api.get_bytes(&path, "text/html").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let html = String::from_utf8(html).expect("UTF-8");
    for shown in [
        number.as_str(),
        "Acme Software Ltd",
        "Springfield",
        "acct_document",
        "Onboarding workshop",
        "38.00 USD",
        "29.00 USD",
        "wire_42",
    ] {
        assert!(html.contains(shown), "{shown} missing from {html}");
    }
    // As of the moment the document was read: nothing happened to the invoice since.
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let state = api
        .get(&format!("/v1/audit/streams/invoice/{id}/state?at={now}"))
        .await;
    state.assert_status(200);
    assert_agrees_with_the_state(&html, &state.body["state"]);

    let (status, headers, pdf) = api.get_bytes(&path, "application/pdf").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(pdf.starts_with(b"%PDF"), "not a PDF");
    let text = pdf_text(&pdf);
    for shown in [
        number.as_str(),
        "Acme Software Ltd",
        "38.00 USD",
        "29.00 USD",
        "wire_42",
    ] {
        assert!(
            text.contains(shown),
            "{shown} missing from the PDF's text: {text}"
        );
    }
}

infrastructure::on_both_backends!(the_document_renders_as_html_and_as_pdf);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_key_reads_only_its_own_invoices_documents() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let server = Server::on(&db.url, &[]);
    let admin = Api::admin(&server.base_url);
    let (mine, _) = paid_in_part(&admin, "acct_mine").await;
    let (theirs, _) = paid_in_part(&admin, "acct_theirs").await;
    let key = admin.account_key("acct_mine").await;

    let (status, _, pdf) = key
        .get_bytes(&format!("/v1/invoices/{mine}/document"), "application/pdf")
        .await;
    assert_eq!(status, 200);
    assert!(pdf.starts_with(b"%PDF"));
    let unknown = "0b9f3c70-5d0e-4c1a-9a44-7f4f1d2a9e11";
    let theirs = key.get(&format!("/v1/invoices/{theirs}/document")).await;
    let nobodys = key.get(&format!("/v1/invoices/{unknown}/document")).await;
    theirs.assert_problem(404, "not_found");
    assert_eq!(theirs.body, nobodys.body, "one answer for both");
    key.get("/v1/invoices/not-a-uuid/document")
        .await
        .assert_problem(404, "not_found");
}
