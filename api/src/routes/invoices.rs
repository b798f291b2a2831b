//! Invoice commands and the invoice resource: issue a manual invoice, collect it through the
//! payment gateway, record payments and failures made outside, refund, void; read one by id.

use application::payments::ChargeOutcome;
use application::{
    attempt_payment as collect, issue_manual_invoice, AttemptOutcome, ManualInvoice,
};
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use domain::invoice::{Invoice, InvoiceCommand, InvoiceLine, LineKind};
use domain::{AccountId, Currency, DomainError, Money};
use projections::InvoiceView;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::commands::{answer, dispatch_action, reply, CommandResponse, NoBody, Outcome};
use crate::auth::Principal;
use crate::extract::{CommandRequest, JsonBody, PathParam, PaymentRequest, Query};
use crate::problem::ApiError;
use crate::routes::accounts::{fresh_log, read_model_error};
use crate::routes::MinPosition;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueInvoiceBody {
    #[schema(pattern = r"^[A-Za-z0-9_.:-]{1,64}$", max_length = 64)]
    account_id: String,
    subscription_id: Option<String>,
    #[schema(pattern = r"^[A-Za-z]{3}$", min_length = 3, max_length = 3)]
    currency: String,
    lines: Vec<LineBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    description: String,
    quantity: u32,
    /// Minor units of the invoice's currency; the line's amount (`quantity × unit_amount`) and
    /// the invoice's total are at most 10^15 too.
    #[schema(minimum = 0, maximum = 1e15)]
    unit_amount: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordPaymentBody {
    /// Minor units of the invoice's currency.
    #[schema(minimum = 1, maximum = 1e15)]
    amount: i64,
    payment_ref: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordFailureBody {
    reason: String,
    code: String,
    payment_ref: Option<String>,
    #[serde(default)]
    hard_decline: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    /// Minor units of the invoice's currency.
    #[schema(minimum = 1, maximum = 1e15)]
    amount: i64,
    reason: String,
}

/// The manual lines, each validated with its index in the field name.
fn manual_lines(lines: &[LineBody], currency: &Currency) -> Result<Vec<InvoiceLine>, ApiError> {
    lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let unit_amount = Money::new(line.unit_amount, currency.clone());
            InvoiceLine::new(
                &line.description,
                LineKind::Manual,
                line.quantity,
                unit_amount,
            )
            .map_err(|error| match error {
                DomainError::Invalid(invalid) => ApiError::validation(
                    format!("lines[{index}].{}", invalid.field),
                    invalid.reason,
                ),
                other => ApiError::validation(format!("lines[{index}].amount"), other.to_string()),
            })
        })
        .collect()
}

/// Issue a manual invoice.
///
/// Collected manually: it is charged only when asked (`attempt-payment`).
#[utoipa::path(
    post,
    path = "/v1/invoices",
    tag = "invoices",
    request_body = IssueInvoiceBody,
    responses((status = 201, description = "Created, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn issue_invoice(
    State(state): State<AppState>,
    request: CommandRequest,
    body: JsonBody<IssueInvoiceBody>,
) -> Result<Response, ApiError> {
    let b = &body.value;
    let account_id = AccountId::parse(&b.account_id)?;
    let currency = Currency::parse(&b.currency)?;
    let lines = manual_lines(&b.lines, &currency)?;
    let subscription_id = match b.subscription_id.as_deref() {
        Some(id) => Some(Uuid::parse_str(id).map_err(|_| {
            ApiError::validation("subscription_id", format!("`{id}` is not a UUID"))
        })?),
        None => None,
    };
    let invoice = ManualInvoice {
        invoice_id: request.new_resource_id(),
        account_id,
        subscription_id,
        currency,
        lines,
    };
    let context = request.context("POST /v1/invoices", &body.digest);
    let issued = issue_manual_invoice(&state.bus, &state.services, invoice, &context).await;
    answer::<Invoice>(&state, "IssueInvoice".into(), issued, Outcome::Created).await
}

/// Runs a command on the invoice at `id`.
async fn on_invoice(
    state: &AppState,
    request: &CommandRequest,
    id: Uuid,
    action: &str,
    digest: &str,
    command: InvoiceCommand,
) -> Result<Response, ApiError> {
    dispatch_action::<Invoice>(state, request, "invoices", id, action, digest, command).await
}

/// The invoice's currency, which amounts in request bodies are counted in.
pub(crate) async fn currency_of(state: &AppState, id: Uuid) -> Result<Currency, ApiError> {
    let invoice = state.bus.load::<Invoice>(&id.to_string()).await?.aggregate;
    invoice
        .currency()
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("invoice {id} not found")))
}

/// The command response, with what the gateway answered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptResponse {
    #[serde(flatten)]
    command: CommandResponse,
    payment: PaymentView,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentView {
    payment_ref: String,
    attempt: u32,
    /// `succeeded` or `declined`.
    status: &'static str,
    code: Option<String>,
    reason: Option<String>,
    hard_decline: bool,
}

impl AttemptResponse {
    fn of(command: CommandResponse, outcome: AttemptOutcome) -> Self {
        let (status, code, reason, hard_decline) = match outcome.charge {
            ChargeOutcome::Succeeded { .. } => ("succeeded", None, None, false),
            ChargeOutcome::Declined {
                code,
                reason,
                hard_decline,
            } => ("declined", Some(code), Some(reason), hard_decline),
        };
        Self {
            command,
            payment: PaymentView {
                payment_ref: outcome.payment_ref,
                attempt: outcome.attempt,
                status,
                code,
                reason,
                hard_decline,
            },
        }
    }
}

/// Charge an invoice now.
///
/// Charges the payment method on file (or resumes the attempt in flight). A decline is a
/// successful request: the invoice records it and turns past due.
#[utoipa::path(
    post,
    path = "/v1/invoices/{id}/attempt-payment",
    tag = "invoices",
    params(("id" = Uuid, Path)),
    request_body = inline(NoBody),
    responses((status = 200, description = "Charged or declined (a decline is recorded, not an error)", body = AttemptResponse)),
    security(("bearer" = [])),
)]
pub async fn attempt_payment(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    PaymentRequest(request): PaymentRequest,
    body: JsonBody<NoBody>,
) -> Result<Response, ApiError> {
    let route = format!("POST /v1/invoices/{id}/attempt-payment");
    let context = request.context(&route, &body.digest);
    let outcome = collect(
        &state.bus,
        state.gateway.as_ref(),
        &state.services,
        id,
        &context,
    )
    .await?;
    let replayed = outcome.replayed;
    let command = CommandResponse::of::<Invoice>(&state, outcome.recorded.record.clone()).await?;
    Ok(reply(
        AttemptResponse::of(command, outcome),
        Outcome::Changed,
        replayed,
    ))
}

/// Record a payment made outside the gateway.
///
/// Money beyond what the invoice still owes is recorded as an overpayment and refunded.
#[utoipa::path(
    post,
    path = "/v1/invoices/{id}/record-payment",
    tag = "invoices",
    params(("id" = Uuid, Path)),
    request_body = RecordPaymentBody,
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn record_payment(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: CommandRequest,
    body: JsonBody<RecordPaymentBody>,
) -> Result<Response, ApiError> {
    let command = InvoiceCommand::RecordPayment {
        amount: Money::new(body.value.amount, currency_of(&state, id).await?),
        payment_ref: body.value.payment_ref.clone(),
    };
    on_invoice(
        &state,
        &request,
        id,
        "record-payment",
        &body.digest,
        command,
    )
    .await
}

/// Record a payment failure reported from outside.
///
/// The invoice turns past due and the dunning saga takes over.
#[utoipa::path(
    post,
    path = "/v1/invoices/{id}/record-payment-failure",
    tag = "invoices",
    params(("id" = Uuid, Path)),
    request_body = RecordFailureBody,
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn record_payment_failure(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: CommandRequest,
    body: JsonBody<RecordFailureBody>,
) -> Result<Response, ApiError> {
    let b = &body.value;
    let command = InvoiceCommand::RecordPaymentFailure {
        reason: b.reason.clone(),
        code: b.code.clone(),
        payment_ref: b.payment_ref.clone(),
        hard_decline: b.hard_decline,
    };
    let action = "record-payment-failure";
    on_invoice(&state, &request, id, action, &body.digest, command).await
}

/// Refund a paid invoice.
///
/// Through the gateway, once per refund key.
#[utoipa::path(
    post,
    path = "/v1/invoices/{id}/refund",
    tag = "invoices",
    params(("id" = Uuid, Path)),
    request_body = RefundBody,
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn refund(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: CommandRequest,
    body: JsonBody<RefundBody>,
) -> Result<Response, ApiError> {
    let amount = Money::new(body.value.amount, currency_of(&state, id).await?);
    let route = format!("POST /v1/invoices/{id}/refund");
    let context = request.context(&route, &body.digest);
    let result = application::refund_invoice(
        &state.bus,
        state.gateway.as_ref(),
        &state.services,
        id,
        amount,
        body.value.reason.clone(),
        &context,
    )
    .await;
    let executed = match result {
        Ok(executed) => Ok(executed),
        Err(application::RefundInvoiceError::Dispatch(error)) => Err(error),
        Err(other) => return Err(other.into()),
    };
    answer::<Invoice>(&state, "RefundInvoice".into(), executed, Outcome::Changed).await
}

/// Void an open invoice.
///
/// A void invoice keeps its number and is owed nothing.
#[utoipa::path(
    post,
    path = "/v1/invoices/{id}/void",
    tag = "invoices",
    params(("id" = Uuid, Path)),
    request_body = inline(NoBody),
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn void(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: CommandRequest,
    body: JsonBody<NoBody>,
) -> Result<Response, ApiError> {
    let command = InvoiceCommand::VoidInvoice;
    on_invoice(&state, &request, id, "void", &body.digest, command).await
}

/// An invoice.
///
/// An invoice as it is now, read from its event stream (always current), with its number from
/// the invoices read model (`null` until assigned). An account key sees only its own account's
/// invoices; others answer 404.
#[utoipa::path(
    get,
    path = "/v1/invoices/{id}",
    tag = "invoices",
    params(
        ("id" = Uuid, Path),
        MinPosition,
    ),
    responses((status = 200, description = "OK", body = InvoiceView)),
    security(("bearer" = [])),
)]
pub async fn get_invoice(
    State(state): State<AppState>,
    principal: Principal,
    PathParam(id): PathParam<Uuid>,
    Query(query): Query<MinPosition>,
) -> Result<Json<InvoiceView>, ApiError> {
    let (_, view) = visible_invoice(&state, &principal, id, query.min_position).await?;
    Ok(Json(view))
}

/// The invoice `id` and its view with its number, if `principal` may see it: every route that
/// shows one invoice answers through this, so all refuse alike. Another account's invoice
/// answers exactly as an unknown id: nothing tells it exists.
pub(crate) async fn visible_invoice(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    min_position: Option<i64>,
) -> Result<(Invoice, InvoiceView), ApiError> {
    fresh_log(state, principal, min_position).await?;
    let invoice = state.bus.load::<Invoice>(&id.to_string()).await?.aggregate;
    let not_found = || ApiError::NotFound("no such invoice".into());
    let view = InvoiceView::of(&invoice).ok_or_else(not_found)?;
    let account = invoice.account_id().ok_or_else(not_found)?;
    principal
        .require_account_access(account)
        .map_err(|_| not_found())?;
    let number = state
        .read_models
        .invoice_number(id)
        .await
        .map_err(read_model_error)?;
    Ok((invoice, view.with_number(number)))
}
