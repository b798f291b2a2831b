//! `GET /v1/invoices/{id}/document`: the invoice as a printable HTML page, or as a PDF when the
//! client accepts `application/pdf` (SPEC 11.5). Who may read it is who may read the invoice.

use axum::extract::State;
use axum::http::header::{ACCEPT, CONTENT_DISPOSITION, CONTENT_TYPE, VARY};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use domain::invoice::Invoice;
use domain::subscription::Subscription;
use uuid::Uuid;

use crate::auth::Principal;
use crate::document::{render_html, render_pdf, InvoiceDocument};
use crate::extract::{PathParam, Query};
use crate::problem::ApiError;
use crate::routes::invoices::visible_invoice;
use crate::routes::MinPosition;
use crate::state::AppState;

/// The most events of one invoice's stream read for its payments; real invoices have a handful.
const MAX_INVOICE_EVENTS: u32 = 10_000;

/// An invoice's printable document.
///
/// The invoice as a document: HTML by default, a PDF with `Accept: application/pdf`. An account
/// key sees only its own account's invoices; others answer 404.
#[utoipa::path(
    get,
    path = "/v1/invoices/{id}/document",
    tag = "invoices",
    params(
        ("id" = Uuid, Path),
        MinPosition,
    ),
    responses(
        (status = 200, description = "The invoice as a printable page (`text/html`), or as a PDF \
            when `Accept` names `application/pdf`",
            content((String = "text/html"), (Vec<u8> = "application/pdf"))),
    ),
    security(("bearer" = [])),
)]
pub async fn document(
    State(state): State<AppState>,
    principal: Principal,
    PathParam(id): PathParam<Uuid>,
    Query(query): Query<MinPosition>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (invoice, view) = visible_invoice(&state, &principal, id, query.min_position).await?;
    let events = state
        .bus
        .read_events::<Invoice>(&id.to_string(), 0, MAX_INVOICE_EVENTS)
        .await?
        .into_iter()
        .map(|(_, event)| event)
        .collect::<Vec<_>>();
    let customer_email = match invoice.subscription_id() {
        Some(subscription) => state
            .bus
            .load::<Subscription>(&subscription.to_string())
            .await?
            .aggregate
            .billing_account()
            .map(|account| account.email.to_string()),
        None => None,
    };
    let document = InvoiceDocument::new(
        &view,
        &events,
        state.seller.as_ref().clone(),
        customer_email,
    );
    let filename = format!(
        "invoice-{}",
        view.number.as_deref().unwrap_or(&view.id.to_string())
    );
    if accepts_pdf(&headers) {
        let disposition = format!("inline; filename=\"{filename}.pdf\"");
        let headers = [
            (CONTENT_TYPE, "application/pdf".to_owned()),
            (CONTENT_DISPOSITION, disposition),
            (VARY, "Accept".to_owned()),
        ];
        return Ok((headers, render_pdf(&document)).into_response());
    }
    let html = render_html(&document).map_err(|error| ApiError::internal(error.to_string()))?;
    let headers = [
        (CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
        (VARY, "Accept".to_owned()),
    ];
    Ok((headers, html).into_response())
}

/// Whether `Accept` names `application/pdf` (with any parameters or quality but zero).
fn accepts_pdf(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let is_pdf = parts
                .next()
                .is_some_and(|media| media.eq_ignore_ascii_case("application/pdf"));
            let refused = parts.any(|param| param.replace(' ', "") == "q=0");
            is_pdf && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn only_an_accept_naming_pdf_asks_for_the_pdf() {
        assert!(accepts_pdf(&accept("application/pdf")));
        assert!(accepts_pdf(&accept("text/html;q=0.9, Application/PDF;q=1")));
        assert!(!accepts_pdf(&accept("application/pdf;q=0")));
        assert!(!accepts_pdf(&accept("text/html,*/*")));
        assert!(!accepts_pdf(&HeaderMap::new()));
    }
}
