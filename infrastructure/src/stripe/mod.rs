//! The Stripe payment gateway (SPEC 10.1, docs/stripe.md): charges are PaymentIntents created
//! and confirmed off-session under `Idempotency-Key = payment_ref`, refunds go through the
//! Refunds API under their own key. Stripe keeps the idempotency records, so a resumed attempt
//! asks again with the same key and never charges twice.

mod client;
pub mod outcome;
pub mod records;
pub mod signature;

use std::sync::Arc;

use application::payments::{
    ChargeOutcome, ChargeRequest, GatewayError, MethodCheck, MethodCheckRequest, PaymentGateway,
    RefundOutcome, RefundRequest,
};
use application::{CommandBus, CommandContext, DispatchError};
use async_trait::async_trait;
use domain::processor_customer::{ProcessorCustomer, ProcessorCustomerCommand};
use domain::{AccountId, BillingServices, DomainError, PaymentMethodToken};
use serde::Deserialize;

use client::{CallError, StripeClient};
pub use client::{StripeConfig, StripeError};
use outcome::PaymentIntent;

use crate::store::Store;

/// The processor's name in the log (`ProcessorCustomer` streams are `stripe:<account_id>`).
const PROCESSOR: &str = "stripe";

#[derive(Clone)]
pub struct StripeGateway {
    client: StripeClient,
    store: Arc<Store>,
    /// Remembers each account's Customer in the log.
    bus: Arc<CommandBus<Store>>,
    services: BillingServices,
}

impl std::fmt::Debug for StripeGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeGateway")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct StripeObject {
    id: String,
}

#[derive(Deserialize)]
struct Refund {
    id: String,
    #[serde(default)]
    status: Option<String>,
}

impl StripeGateway {
    pub fn new(
        config: StripeConfig,
        store: Arc<Store>,
        bus: Arc<CommandBus<Store>>,
        services: BillingServices,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: StripeClient::new(config)?,
            store,
            bus,
            services,
        })
    }

    /// The account's Stripe Customer, created on first need and remembered in the log
    /// (`ProcessorCustomerCreated`). Its creation's key names the account, so two racing first
    /// charges create one Customer (within Stripe's 24 h of key memory); after that, the log
    /// keeps the first one remembered and both go on with it.
    async fn customer(&self, account: &AccountId, cause: &str) -> Result<String, GatewayError> {
        let stream = ProcessorCustomer::stream_id(PROCESSOR, account);
        if let Some(customer) = self.remembered_customer(&stream).await? {
            return Ok(customer);
        }
        let account_id = account.as_str();
        let form = vec![
            field("metadata[ledgerline_account_id]", account_id),
            field("description", &format!("Ledgerline account {account_id}")),
        ];
        let key = format!("ledgerline:customer:{account_id}");
        let created: StripeObject = self
            .client
            .post("/v1/customers", &form, &key)
            .await
            .map_err(unknown)?;
        let command = ProcessorCustomerCommand::RememberProcessorCustomer {
            processor: PROCESSOR.to_owned(),
            account_id: account.clone(),
            customer_id: created.id.clone(),
        };
        let context = CommandContext {
            actor: "system:stripe_gateway".into(),
            correlation_id: cause.to_owned(),
            causation_id: cause.to_owned(),
            idempotency_key: None,
            key: None,
        };
        self.bus
            .execute::<ProcessorCustomer>(&stream, command, &self.services, &context)
            .await
            .map_err(log_error)?;
        Ok(self
            .remembered_customer(&stream)
            .await?
            .unwrap_or(created.id))
    }

    /// Attaches `method` to `customer` under `key`. Attaching gives the customer the card for
    /// later off-session charges; for Stripe's test tokens it answers the id of the attached
    /// copy, which is the one to charge. `Ok(Err(reason))`: Stripe will not attach it (unknown,
    /// attached to another customer, not reusable), a definite answer and no money moved.
    async fn attach(
        &self,
        method: &PaymentMethodToken,
        customer: &str,
        key: &str,
    ) -> Result<Result<String, String>, CallError> {
        let path = format!("/v1/payment_methods/{}/attach", method.as_str());
        match self
            .client
            .post::<StripeObject>(&path, &[field("customer", customer)], key)
            .await
        {
            Ok(attached) => Ok(Ok(attached.id)),
            Err(CallError::Stripe { status, error })
                if error.kind == "invalid_request_error" && !matches!(status, 401 | 403) =>
            {
                Ok(Err(error.message.unwrap_or_else(|| {
                    "stripe cannot charge this payment method".into()
                })))
            }
            Err(error) => Err(error),
        }
    }

    async fn remembered_customer(&self, stream: &str) -> Result<Option<String>, GatewayError> {
        let loaded = self
            .bus
            .load::<ProcessorCustomer>(stream)
            .await
            .map_err(log_error)?;
        Ok(loaded.aggregate.customer_id().map(str::to_owned))
    }
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    #[tracing::instrument(skip_all, fields(payment_ref = %request.payment_ref))]
    async fn charge(&self, request: ChargeRequest) -> Result<ChargeOutcome, GatewayError> {
        let customer = self
            .customer(&request.account_id, &request.payment_ref)
            .await?;
        let attach_key = format!("{}:attach", request.payment_ref);
        let attached = match self
            .attach(&request.payment_method, &customer, &attach_key)
            .await
        {
            Ok(Ok(attached)) => attached,
            Ok(Err(reason)) => {
                return Ok(outcome::declined("invalid_payment_method", &reason, false))
            }
            Err(error) => return definite_decline(error),
        };
        let form = vec![
            field("amount", &request.amount.amount.to_string()),
            field("currency", request.amount.currency.as_str()),
            field("customer", &customer),
            field("payment_method", &attached),
            field("confirm", "true"),
            field("off_session", "true"),
            field(
                "metadata[ledgerline_invoice_id]",
                &request.invoice_id.to_string(),
            ),
            field(
                "metadata[ledgerline_account_id]",
                request.account_id.as_str(),
            ),
            field("metadata[ledgerline_payment_ref]", &request.payment_ref),
        ];
        let intent = match self
            .client
            .post::<PaymentIntent>("/v1/payment_intents", &form, &request.payment_ref)
            .await
        {
            Ok(intent) => intent,
            Err(CallError::Stripe { error, .. }) if error.kind == "card_error" => {
                // The intent was created and its confirmation declined: remember it anyway.
                if let Some(id) = error
                    .payment_intent
                    .as_ref()
                    .and_then(|intent| intent.get("id"))
                    .and_then(|id| id.as_str())
                {
                    self.remember(&request, id).await?;
                }
                return Ok(outcome::from_card_error(&error));
            }
            Err(error) => return definite_decline(error),
        };
        self.remember(&request, &intent.id).await?;
        outcome::from_payment_intent(&intent).ok_or_else(|| {
            GatewayError::Unreachable(format!(
                "PaymentIntent {} is still {}; asking again later",
                intent.id, intent.status
            ))
        })
    }

    /// Attaches the method to the account's Customer (created if need be), under a key of the
    /// account and the method, so a repeated check asks Stripe once.
    async fn verify_payment_method(
        &self,
        request: MethodCheckRequest,
    ) -> Result<MethodCheck, GatewayError> {
        let method = request.payment_method.as_str();
        let cause = format!("verify_payment_method:{method}");
        let customer = self.customer(&request.account_id, &cause).await?;
        let key = format!("ledgerline:verify:{}:{method}", request.account_id);
        match self.attach(&request.payment_method, &customer, &key).await {
            Ok(Ok(_)) => Ok(MethodCheck::Usable),
            Ok(Err(reason)) => Ok(MethodCheck::Invalid { reason }),
            Err(error) => {
                tracing::error!(%error, "stripe did not answer whether a payment method is usable");
                Err(unknown(error))
            }
        }
    }

    #[tracing::instrument(skip_all, fields(refund_ref = %request.refund_ref))]
    async fn refund(&self, request: RefundRequest) -> Result<RefundOutcome, GatewayError> {
        let Some(intent) = records::payment_intent_of(&self.store, &request.payment_ref)
            .await
            .map_err(storage)?
        else {
            return Ok(RefundOutcome::Refused {
                reason: format!(
                    "no Stripe PaymentIntent was created for payment {}",
                    request.payment_ref
                ),
            });
        };
        let form = vec![
            field("payment_intent", &intent),
            field("amount", &request.amount.amount.to_string()),
            field("metadata[ledgerline_payment_ref]", &request.payment_ref),
            field(
                "metadata[ledgerline_account_id]",
                request.account_id.as_str(),
            ),
            // Marks the refund as Ledgerline's: `charge.refunded` does not record it again.
            field("metadata[ledgerline_refund_ref]", &request.refund_ref),
        ];
        match self
            .client
            .post::<Refund>("/v1/refunds", &form, &request.refund_ref)
            .await
        {
            Ok(refund) if refund.status.as_deref() == Some("failed") => {
                Ok(RefundOutcome::Refused {
                    reason: format!("stripe refund {} failed", refund.id),
                })
            }
            Ok(refund) => Ok(RefundOutcome::Refunded {
                gateway_ref: refund.id,
            }),
            Err(CallError::Stripe { status, error })
                if status < 500 && status != 401 && status != 403 =>
            {
                Ok(RefundOutcome::Refused {
                    reason: error
                        .message
                        .unwrap_or_else(|| format!("stripe refused the refund ({})", error.kind)),
                })
            }
            Err(error) => Err(unknown(error)),
        }
    }
}

impl StripeGateway {
    async fn remember(&self, request: &ChargeRequest, intent: &str) -> Result<(), GatewayError> {
        records::remember_payment_intent(
            &self.store,
            &request.payment_ref,
            intent,
            request.account_id.as_str(),
        )
        .await
        .map_err(storage)
    }
}

/// A definite answer that took no money: a card error declines; an unknown payment method is
/// `invalid_payment_method`, as the sandbox says. Anything else (a bad API key, a request
/// Stripe refuses) is our configuration, not the customer's card: the attempt stays in flight
/// and is asked again once the operator has fixed it, rather than dunning the customer.
fn definite_decline(error: CallError) -> Result<ChargeOutcome, GatewayError> {
    match &error {
        CallError::Stripe { error: stripe, .. } if stripe.kind == "card_error" => {
            Ok(outcome::from_card_error(stripe))
        }
        CallError::Stripe {
            status: 404,
            error: stripe,
        }
        | CallError::Stripe {
            status: 400,
            error: stripe,
        } if stripe.code.as_deref() == Some("resource_missing") => Ok(outcome::declined(
            "invalid_payment_method",
            "stripe does not know this payment method",
            false,
        )),
        _ => {
            tracing::error!(%error, "stripe refused a request; the attempt stays in flight");
            Err(unknown(error))
        }
    }
}

fn unknown(error: CallError) -> GatewayError {
    GatewayError::Unreachable(error.to_string())
}

fn log_error(error: DispatchError<DomainError>) -> GatewayError {
    GatewayError::Unreachable(format!("the log, remembering the Stripe customer: {error}"))
}

fn storage(error: sqlx::Error) -> GatewayError {
    GatewayError::Unreachable(format!("the stripe gateway's records: {error}"))
}

fn field(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}
