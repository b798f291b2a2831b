//! Previews (SPEC 11.2): the next invoice of a subscription as it stands now, and what a plan
//! change would do now. Both run the decision the real command will run, without recording
//! anything (`application::previews`), so what they show is what the real invoice will hold.

use application::balance_payment::balance_available_for;
use application::invoicing::PeriodInvoice;
use application::previews::{self, PlanChangePreview};
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::Money;
use projections::invoices::InvoiceLineView;
use serde::Serialize;
use uuid::Uuid;

use super::subscriptions::ChangePlanBody;
use crate::auth::GlobalReader;
use crate::extract::{JsonBody, PathParam};
use crate::problem::ApiError;
use crate::state::AppState;

/// An invoice that does not exist yet. Amounts are minor units of `currency`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvoicePreviewView {
    pub account_id: String,
    pub currency: String,
    pub lines: Vec<InvoiceLineView>,
    pub total: i64,
}

impl InvoicePreviewView {
    fn of(invoice: &PeriodInvoice) -> Self {
        Self {
            account_id: invoice.account_id.to_string(),
            currency: invoice.currency.to_string(),
            lines: invoice.lines.iter().map(InvoiceLineView::from).collect(),
            total: invoice.lines.iter().map(|line| line.amount.amount).sum(),
        }
    }
}

/// The next invoice: the renewal (with usage so far), the activation at a trial's end, or the
/// final invoice of a cancellation at the period end.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UpcomingInvoiceView {
    pub subscription_id: Uuid,
    /// When it will be issued.
    pub issued_at: DateTime<Utc>,
    /// What the account's credit balance would pay of it, as it stands now (SPEC 11.4).
    pub credit_applied: i64,
    /// What would be left for the card: `total − credit_applied`.
    pub amount_due: i64,
    #[serde(flatten)]
    pub invoice: InvoicePreviewView,
}

/// What a plan change would do now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlanChangePreviewView {
    /// `now` (an upgrade, charged at once, or a downgrade asked `now`), `period_end` (a
    /// downgrade, scheduled) or `unchanged` (already on that plan).
    pub effective: &'static str,
    pub plan_id: Option<String>,
    pub effective_at: Option<DateTime<Utc>>,
    /// The proration invoice issued at once; null when nothing is charged now.
    pub invoice: Option<InvoicePreviewView>,
    /// What a downgrade now credits to the account's balance, in minor units of the plan's
    /// currency; null otherwise.
    pub credit: Option<i64>,
}

/// Preview the next invoice.
///
/// The renewal (usage so far included), the activation at a trial's end, or the final invoice of a
/// cancellation at the period end, computed by the code that will issue it. Records nothing.
#[utoipa::path(
    get,
    path = "/v1/subscriptions/{id}/upcoming-invoice",
    tag = "subscriptions",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The next invoice as it stands now", body = UpcomingInvoiceView),
        (status = 404, description = "No such subscription, or no invoice is coming"),
    ),
    security(("bearer" = [])),
)]
pub async fn upcoming_invoice(
    State(state): State<AppState>,
    _reader: GlobalReader,
    PathParam(id): PathParam<Uuid>,
) -> Result<Json<UpcomingInvoiceView>, ApiError> {
    let upcoming = previews::upcoming_invoice(&state.bus, &state.services, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no invoice is coming for subscription {id}")))?;
    let invoice = InvoicePreviewView::of(&upcoming.invoice);
    let total = Money::new(invoice.total, upcoming.invoice.currency.clone());
    let account = &upcoming.invoice.account_id;
    let credit = balance_available_for(&state.bus, account, &total).await?;
    Ok(Json(UpcomingInvoiceView {
        subscription_id: id,
        issued_at: upcoming.issued_at,
        credit_applied: credit.amount,
        amount_due: total.amount - credit.amount,
        invoice,
    }))
}

/// Preview a plan change.
///
/// Refused exactly as the change would be (409 for a downgrade that needs confirmation).
#[utoipa::path(
    post,
    path = "/v1/subscriptions/{id}/change-plan/preview",
    tag = "subscriptions",
    params(("id" = Uuid, Path)),
    request_body = ChangePlanBody,
    responses((status = 200, description = "What the change would do; nothing was changed", body = PlanChangePreviewView)),
    security(("bearer" = [])),
)]
pub async fn change_plan_preview(
    State(state): State<AppState>,
    _reader: GlobalReader,
    PathParam(id): PathParam<Uuid>,
    body: JsonBody<ChangePlanBody>,
) -> Result<Json<PlanChangePreviewView>, ApiError> {
    let change = body.value.plan_change()?;
    let preview = previews::plan_change_preview(&state.bus, &state.services, id, change).await?;
    let view = match preview {
        PlanChangePreview::Now {
            plan_id,
            invoice,
            credit,
        } => PlanChangePreviewView {
            effective: "now",
            plan_id: Some(plan_id.to_string()),
            effective_at: None,
            invoice: invoice.as_ref().map(InvoicePreviewView::of),
            credit: credit.map(|credit| credit.amount),
        },
        PlanChangePreview::Scheduled {
            plan_id,
            effective_at,
        } => PlanChangePreviewView {
            effective: "period_end",
            plan_id: Some(plan_id.to_string()),
            effective_at: Some(effective_at),
            invoice: None,
            credit: None,
        },
        PlanChangePreview::Unchanged => PlanChangePreviewView {
            effective: "unchanged",
            plan_id: None,
            effective_at: None,
            invoice: None,
            credit: None,
        },
    };
    Ok(Json(view))
}
