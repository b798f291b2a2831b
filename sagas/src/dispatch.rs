//! Sending a reaction through the command bus: decode the causing event, execute the command with
//! an id derived from it, and sort the outcome into "done", "refused by the domain" (logged, not
//! retried: the same command would be refused again) and "try again later".

use application::event_log::{CommandKey, EventLog, StoredEvent};
use application::ReactionError;
use application::{CommandBus, CommandContext, DispatchError, EventLogError};
use cqrs_es::Aggregate;
use domain::{BillingServices, DomainError};

use crate::reaction::Reaction;

/// Decodes `event` as an event of aggregate `A`, through the bus's upcasters.
pub fn decode<A: Aggregate<Error = DomainError>, L: EventLog>(
    bus: &CommandBus<L>,
    event: &StoredEvent,
) -> Result<A::Event, ReactionError> {
    bus.decode::<A>(event.serialized())
        .map_err(|error| ReactionError::at(event, error.to_string()))
}

/// The context of a command `policy` sends because of `cause`, under `command_id`.
pub fn context(policy: &str, cause: &StoredEvent, command_id: &str) -> CommandContext {
    CommandContext {
        actor: format!("system:{policy}"),
        correlation_id: cause.metadata.correlation_id.clone(),
        causation_id: cause.metadata.event_id.to_string(),
        idempotency_key: None,
        key: Some(CommandKey {
            command_id: command_id.to_owned(),
            fingerprint: policy.to_owned(),
        }),
    }
}

/// Executes `reaction` on aggregate `A`, caused by `cause`, on behalf of `policy`.
pub async fn execute<A, L: EventLog>(
    bus: &CommandBus<L>,
    services: &BillingServices,
    policy: &str,
    cause: &StoredEvent,
    reaction: Reaction<A::Command>,
) -> Result<(), ReactionError>
where
    A: application::claims::UniqueClaim<Error = DomainError, Services = BillingServices>,
    A::Command: Clone + serde::Serialize,
{
    match execute_claiming::<A, L>(bus, services, policy, cause, reaction).await? {
        None => Ok(()),
        Some(claim) => Err(ReactionError::at(
            cause,
            format!("the claim `{claim}` is held by another aggregate"),
        )),
    }
}

/// [`execute`], for a command that takes a unique claim: answers the claim when another
/// aggregate holds it (nothing was appended), for the caller to act on the holder instead.
pub async fn execute_claiming<A, L: EventLog>(
    bus: &CommandBus<L>,
    services: &BillingServices,
    policy: &str,
    cause: &StoredEvent,
    reaction: Reaction<A::Command>,
) -> Result<Option<String>, ReactionError>
where
    A: application::claims::UniqueClaim<Error = DomainError, Services = BillingServices>,
    A::Command: Clone + serde::Serialize,
{
    let context = context(policy, cause, &reaction.command_id);
    match bus
        .execute::<A>(&reaction.aggregate_id, reaction.command, services, &context)
        .await
    {
        Err(DispatchError::ClaimTaken(claim)) => Ok(Some(claim)),
        outcome => settle(policy, cause, &reaction.command_id, outcome).map(|()| None),
    }
}

/// Sorts the outcome of a command sent by `policy`: done and refused are settled (a refusal is
/// logged: the same command would be refused again), storage failures and conflicts retried.
pub fn settle<T>(
    policy: &str,
    cause: &StoredEvent,
    command_id: &str,
    outcome: Result<T, DispatchError<DomainError>>,
) -> Result<(), ReactionError> {
    match outcome {
        Ok(_) => Ok(()),
        Err(DispatchError::Rejected(refusal)) => {
            tracing::warn!(
                policy,
                position = cause.position,
                command_id,
                %refusal,
                "the reaction was refused by the domain"
            );
            Ok(())
        }
        Err(DispatchError::Storage(error)) => Err(error.into()),
        Err(DispatchError::Conflict) => Err(EventLogError::Storage(
            "the reaction's aggregate kept changing; retrying".into(),
        )
        .into()),
        Err(other) => Err(ReactionError::at(cause, other.to_string())),
    }
}
