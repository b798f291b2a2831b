//! The audit state: any aggregate, named by its type on the wire, as it was at a point of its
//! past, serialised. The one place that turns an aggregate type name into a typed load, for the
//! HTTP API and the command line alike.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::coupon::Coupon;
use domain::customer_balance::CustomerBalance;
use domain::dunning::DunningCase;
use domain::entitlements::Entitlements;
use domain::invoice::Invoice;
use domain::invoice_numbering::InvoiceNumbering;
use domain::processor_customer::ProcessorCustomer;
use domain::processor_event::ProcessorEvent;
use domain::subscription::Subscription;
use domain::webhook_endpoint::WebhookEndpoint;
use domain::DomainError;
use serde::Serialize;
use serde_json::Value;

use crate::event_log::{AsOf, EventLog, EventLogError};
use crate::{CommandBus, DispatchError};

/// The aggregate types, as named on the wire and in the event log.
pub const AGGREGATE_TYPES: [&str; 10] = [
    Subscription::TYPE,
    Entitlements::TYPE,
    Invoice::TYPE,
    DunningCase::TYPE,
    ProcessorEvent::TYPE,
    ProcessorCustomer::TYPE,
    WebhookEndpoint::TYPE,
    InvoiceNumbering::TYPE,
    Coupon::TYPE,
    CustomerBalance::TYPE,
];

/// An aggregate as it was after the last event of a prefix of its stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditState {
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// The sequence of the last event included.
    pub version: i64,
    /// When the last event included was recorded.
    pub as_of: DateTime<Utc>,
    /// The global position of the last event included.
    pub position: i64,
    /// The aggregate, serialised as it is in snapshots.
    pub state: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("unknown aggregate type `{0}`: expected one of {types}", types = AGGREGATE_TYPES.join(", "))]
    UnknownType(String),
    /// A stored event or snapshot no longer deserialises: a defect, never the caller's fault.
    #[error("stored data cannot be read: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Storage(EventLogError),
}

/// Fails with `UnknownType` unless `aggregate_type` is one of [`AGGREGATE_TYPES`].
pub fn check_aggregate_type(aggregate_type: &str) -> Result<(), AuditError> {
    if AGGREGATE_TYPES.contains(&aggregate_type) {
        Ok(())
    } else {
        Err(AuditError::UnknownType(aggregate_type.to_owned()))
    }
}

/// The aggregate `aggregate_type`/`aggregate_id` as it was at `as_of`; `None` when its stream
/// had no events at that point, or `AsOf::Version` lies beyond the stream.
pub async fn state_as_of<L: EventLog>(
    bus: &CommandBus<L>,
    aggregate_type: &str,
    aggregate_id: &str,
    as_of: AsOf,
) -> Result<Option<AuditState>, AuditError> {
    match aggregate_type {
        Subscription::TYPE => load::<Subscription, L>(bus, aggregate_id, as_of).await,
        Entitlements::TYPE => load::<Entitlements, L>(bus, aggregate_id, as_of).await,
        Invoice::TYPE => load::<Invoice, L>(bus, aggregate_id, as_of).await,
        DunningCase::TYPE => load::<DunningCase, L>(bus, aggregate_id, as_of).await,
        ProcessorEvent::TYPE => load::<ProcessorEvent, L>(bus, aggregate_id, as_of).await,
        ProcessorCustomer::TYPE => load::<ProcessorCustomer, L>(bus, aggregate_id, as_of).await,
        WebhookEndpoint::TYPE => load::<WebhookEndpoint, L>(bus, aggregate_id, as_of).await,
        InvoiceNumbering::TYPE => load::<InvoiceNumbering, L>(bus, aggregate_id, as_of).await,
        Coupon::TYPE => load::<Coupon, L>(bus, aggregate_id, as_of).await,
        CustomerBalance::TYPE => load::<CustomerBalance, L>(bus, aggregate_id, as_of).await,
        other => Err(AuditError::UnknownType(other.to_owned())),
    }
}

async fn load<A, L>(
    bus: &CommandBus<L>,
    aggregate_id: &str,
    as_of: AsOf,
) -> Result<Option<AuditState>, AuditError>
where
    A: Aggregate<Error = DomainError>,
    L: EventLog,
{
    let Some(past) = bus
        .load_as_of::<A>(aggregate_id, as_of)
        .await
        .map_err(|e| match e {
            DispatchError::Storage(storage) => AuditError::Storage(storage),
            other => AuditError::Corrupt(other.to_string()),
        })?
    else {
        return Ok(None);
    };
    Ok(Some(AuditState {
        aggregate_type: A::TYPE.to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        version: past.version,
        as_of: past.as_of,
        position: past.position,
        state: serde_json::to_value(&past.aggregate)
            .map_err(|e| AuditError::Corrupt(e.to_string()))?,
    }))
}
