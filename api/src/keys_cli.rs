//! `ledgerline keys create|list|revoke`: API key management from the command line, against the
//! same database the servers use.

use infrastructure::{Store, StoreError};

use crate::cli::KeysCommand;
use crate::routes::api_keys::parse_role;

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the key store failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("no live key {0}")]
    UnknownKey(String),
}

pub async fn run(command: KeysCommand) -> Result<(), KeysError> {
    match command {
        KeysCommand::Create {
            database,
            role,
            account_id,
        } => {
            parse_role(&role, account_id.as_deref())
                .map_err(|e| KeysError::Invalid(e.to_string()))?;
            let store = Store::open(&database.database_url).await?;
            let created = store.create_api_key(&role, account_id.as_deref()).await?;
            println!("key_id: {}", created.record.key_id);
            println!("role:   {}", created.record.role);
            if let Some(account) = &created.record.account_id {
                println!("account: {account}");
            }
            println!("secret: {}", created.secret);
            eprintln!("The secret is shown only now; Ledgerline stores only its digest.");
        }
        KeysCommand::List { database } => {
            let store = Store::open(&database.database_url).await?;
            for key in store.list_api_keys().await? {
                println!(
                    "{}\t{}\t{}\tcreated {}\t{}",
                    key.key_id,
                    key.role,
                    key.account_id.as_deref().unwrap_or("-"),
                    key.created_at,
                    key.revoked_at
                        .map_or("live".to_owned(), |at| format!("revoked {at}")),
                );
            }
        }
        KeysCommand::Revoke { database, key_id } => {
            let store = Store::open(&database.database_url).await?;
            if !store.revoke_api_key(&key_id).await? {
                return Err(KeysError::UnknownKey(key_id));
            }
            println!("revoked {key_id}");
        }
    }
    Ok(())
}
