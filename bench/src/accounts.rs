//! The population the command, lag and feature-check benchmarks share: a fresh Postgres
//! database, a server on it, and `sizes.accounts` accounts, each with a Pro trial (overage
//! billing on, so adding seats never hits the limit) whose entitlements the policy has enabled.

use std::sync::Arc;

use futures_util::{stream, StreamExt, TryStreamExt};
use rand::Rng;
use serde_json::json;

use crate::client::Api;
use crate::database::{Backend, Database, Pool, Postgres};
use crate::server::{Binary, Server};
use crate::sizes::Sizes;
use crate::Result;

/// Concurrent requests while setting the population up.
const SETUP_CLIENTS: usize = 16;

pub struct Account {
    pub account_id: String,
    pub subscription_id: String,
}

pub struct Population {
    pub database: Database,
    pub server: Server,
    pub pool: Pool,
    accounts: Arc<Vec<Account>>,
}

/// What a simulated client needs: the server's API and the accounts to pick from.
#[derive(Clone)]
pub struct Clients {
    pub api: Api,
    accounts: Arc<Vec<Account>>,
}

impl Clients {
    pub fn random_account(&self) -> &Account {
        &self.accounts[rand::thread_rng().gen_range(0..self.accounts.len())]
    }
}

impl Population {
    pub async fn create(binary: &Binary, postgres: &Postgres, sizes: &Sizes) -> Result<Self> {
        println!("population: {} accounts on Postgres", sizes.accounts);
        let database = postgres.create(Backend::Postgres).await?;
        let server = binary.serve(&database.url)?;
        let pool = database.pool(4).await?;
        let accounts = start_trials(&server.api, sizes.accounts).await?;
        pool.settle().await?;
        Ok(Self {
            database,
            server,
            pool,
            accounts: Arc::new(accounts),
        })
    }

    pub fn clients(&self) -> Clients {
        Clients {
            api: self.server.api.clone(),
            accounts: Arc::clone(&self.accounts),
        }
    }

    pub async fn finish(self) {
        self.pool.close().await;
        self.server.stop();
        self.database.drop_now().await;
    }
}

async fn start_trials(api: &Api, count: usize) -> Result<Vec<Account>> {
    stream::iter(0..count)
        .map(|_| async move {
            let account_id = uuid::Uuid::new_v4().to_string();
            let body = json!({
                "account_id": account_id,
                "plan_id": "pro",
                "seats": 1,
                "billing_email": "billing@example.com",
                "payment_method": "pm_card_visa",
                "overage_billing": true,
            });
            let reply = api.post_ok("/v1/subscriptions", &body).await?;
            let subscription_id = reply["aggregate_id"]
                .as_str()
                .ok_or("a started trial answers its aggregate_id")?
                .to_owned();
            Ok::<_, crate::Error>(Account {
                account_id,
                subscription_id,
            })
        })
        .buffer_unordered(SETUP_CLIENTS)
        .try_collect()
        .await
}

/// One command of the throughput mix, alternating by iteration between the Subscription
/// aggregate (add a seat: the summary projects it) and the Entitlements aggregate (one unit of
/// metered usage: feature access projects it).
pub async fn mixed_command(api: &Api, account: &Account, iteration: u64) -> Result<i64> {
    if iteration % 2 == 0 {
        let path = format!("/v1/subscriptions/{}/add-seats", account.subscription_id);
        api.command(&path, &json!({"count": 1})).await
    } else {
        let path = format!("/v1/accounts/{}/usage", account.account_id);
        let usage_id = uuid::Uuid::new_v4().to_string();
        let body = json!({"feature": "api_calls", "quantity": 1, "usage_id": usage_id});
        api.command(&path, &body).await
    }
}
