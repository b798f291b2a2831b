//! `POST /v1/invoices/{id}/credit-notes` (SPEC 11.4): a correction of a paid invoice that is not
//! a void: money refunded through the gateway, or given to the account's credit balance.

use axum::extract::State;
use axum::response::Response;
use domain::invoice::{CreditNote, CreditNoteOutcome, Invoice};
use domain::Money;
use serde::Deserialize;
use uuid::Uuid;

use super::commands::{answer, CommandResponse, Outcome};
use super::invoices::currency_of;
use crate::extract::{CommandRequest, JsonBody, PathParam};
use crate::problem::ApiError;
use crate::state::AppState;

/// Where the credit note's money goes.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeBody {
    /// Back to the card, through the gateway.
    Refund,
    /// To the account's credit balance, which pays its next invoices first.
    CreditBalance,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditNoteBody {
    /// Minor units of the invoice's currency: at most what was paid and is neither refunded nor
    /// credited (`credit_balance`).
    #[schema(minimum = 1)]
    amount: i64,
    /// For people: shown on the timeline.
    #[schema(max_length = 500)]
    reason: String,
    outcome: OutcomeBody,
}

/// Issue a credit note on a paid invoice.
///
/// With outcome `refund` the gateway gives the money back first (as `refund` does), then the
/// note is recorded; with `credit_balance` the note is recorded and the account's balance is
/// credited from it, once. Refused (409 `invoice_not_creditable`) on an invoice that is not
/// paid, and (409 `credit_note_exceeds_creditable`) beyond what is left to credit.
#[utoipa::path(
    post,
    path = "/v1/invoices/{id}/credit-notes",
    tag = "invoices",
    params(("id" = Uuid, Path)),
    request_body = CreditNoteBody,
    responses((status = 200, description = "Issued, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn issue(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: CommandRequest,
    body: JsonBody<CreditNoteBody>,
) -> Result<Response, ApiError> {
    let b = &body.value;
    let note = CreditNote {
        credit_note_id: request.new_resource_id(),
        amount: Money::new(b.amount, currency_of(&state, id).await?),
        reason: b.reason.clone(),
        outcome: match b.outcome {
            OutcomeBody::Refund => CreditNoteOutcome::Refund,
            OutcomeBody::CreditBalance => CreditNoteOutcome::CreditBalance,
        },
    };
    let route = format!("POST /v1/invoices/{id}/credit-notes");
    let context = request.context(&route, &body.digest);
    let result = application::credit_notes::issue_credit_note(
        &state.bus,
        state.gateway.as_ref(),
        &state.services,
        id,
        note,
        &context,
    )
    .await;
    let executed = match result {
        Ok(executed) => Ok(executed),
        Err(application::RefundInvoiceError::Dispatch(error)) => Err(error),
        Err(other) => return Err(other.into()),
    };
    answer::<Invoice>(&state, "IssueCreditNote".into(), executed, Outcome::Changed).await
}
