//! `ledgerline webhooks create|list|rotate-secret|delete`: webhook endpoints from the command
//! line, against the same database the servers use, with the same checks as the REST routes.
//! The CLI has no test clock: it stamps with the system clock.

use domain::Clock;
use infrastructure::webhooks::{event_filter, UrlPolicy, WebhookError};
use infrastructure::{Store, StoreError, SystemClock};

use crate::cli::WebhooksCommand;

#[derive(Debug, thiserror::Error)]
pub enum WebhooksCliError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the webhook store failed: {0}")]
    Webhooks(#[from] WebhookError),
    #[error("{0}")]
    Invalid(String),
    #[error("no webhook endpoint {0}")]
    UnknownEndpoint(String),
}

pub async fn run(command: WebhooksCommand) -> Result<(), WebhooksCliError> {
    let clock = SystemClock::default();
    match command {
        WebhooksCommand::Create {
            database,
            webhooks,
            url,
            events,
            description,
        } => {
            let events = event_filter::parse(events)
                .map_err(|e| WebhooksCliError::Invalid(format!("--events: {e}")))?;
            let policy = UrlPolicy {
                allow_private: webhooks.webhook_allow_private,
            };
            policy
                .check(&url)
                .await
                .map_err(|e| WebhooksCliError::Invalid(format!("url: {e}")))?;
            let store = Store::open(&database.database_url).await?;
            let (endpoint, secret) = store
                .create_webhook_endpoint(
                    &url,
                    &events,
                    description.as_deref(),
                    &webhooks.sealer(),
                    clock.now(),
                )
                .await?;
            println!("id:     {}", endpoint.id);
            println!("url:    {}", endpoint.url);
            println!("events: {}", endpoint.enabled_events.join(","));
            println!("secret: {}", secret.expose());
            eprintln!("The secret is shown only now.");
        }
        WebhooksCommand::List { database } => {
            let store = Store::open(&database.database_url).await?;
            for endpoint in store.list_webhook_endpoints().await? {
                let status = match &endpoint.disabled_reason {
                    Some(reason) => format!("disabled ({reason})"),
                    None => "enabled".to_owned(),
                };
                println!(
                    "{}\t{}\t{}\t{}\tcreated {}",
                    endpoint.id,
                    endpoint.url,
                    endpoint.enabled_events.join(","),
                    status,
                    endpoint.created_at.to_rfc3339(),
                );
            }
        }
        WebhooksCommand::RotateSecret {
            database,
            webhooks,
            id,
        } => {
            let store = Store::open(&database.database_url).await?;
            let secret = store
                .rotate_webhook_secret(&id, &webhooks.sealer(), clock.now())
                .await?
                .ok_or_else(|| WebhooksCliError::UnknownEndpoint(id.clone()))?;
            println!("id:     {id}");
            println!("secret: {}", secret.expose());
            eprintln!("The secret is shown only now; the previous one keeps signing for 24 h.");
        }
        WebhooksCommand::Delete { database, id } => {
            let store = Store::open(&database.database_url).await?;
            if !store.delete_webhook_endpoint(&id).await? {
                return Err(WebhooksCliError::UnknownEndpoint(id));
            }
            println!("deleted {id}");
        }
    }
    Ok(())
}
