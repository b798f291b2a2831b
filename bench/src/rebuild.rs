//! Benchmark 3 (and the memory after it): every read model rebuilt from position 0 over a log
//! of `sizes.rebuild_events` valid events, against a raw read of the same events table, on
//! Postgres and on SQLite.
//!
//! The rebuild is `ledgerline replay` (every read model, the real binary as a process) on the
//! bulk-loaded database, timed from its start to its exit; no server runs meanwhile. Then a
//! server starts on the rebuilt database, for its memory once it has caught up.

use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use projections::READ_MODEL_NAMES;
use serde_json::json;

use crate::bulk_load::{self, Template};
use crate::client::Api;
use crate::database::{Backend, Pool, Postgres};
use crate::figures::Figures;
use crate::server::Binary;
use crate::sizes::Sizes;
use crate::Result;

pub async fn run(
    binary: &Binary,
    postgres: &Postgres,
    backend: Backend,
    sizes: &Sizes,
    figures: &mut Figures,
) -> Result<()> {
    let name = backend.key();
    println!("rebuild on {name}: {} events", sizes.rebuild_events);
    let (template, policies) = write_template(binary, postgres, backend).await?;

    let database = postgres.create(backend).await?;
    binary.migrate(&database.url)?;
    let pool = database.pool(2).await?;
    let loading = Instant::now();
    let events = bulk_load::load(&pool, &template, sizes.rebuild_events).await?;
    bulk_load::mark_reacted(&pool, &policies).await?;
    println!(
        "  loaded {events} events ({} per copy) in {:.1} s",
        template.len(),
        loading.elapsed().as_secs_f64()
    );
    let head = pool.head().await?;
    let raw_rows_per_s = raw_read(&pool).await?;

    let started = Instant::now();
    let replay_peak_mb = binary.replay(&database.url).await?;
    let rebuild_per_s = events as f64 / started.elapsed().as_secs_f64();
    if !read_models_at(&pool, head).await? {
        return Err("ledgerline replay left a read model behind the head".into());
    }
    let server = binary.serve(&database.url)?;
    while !read_models_at(&pool, head).await? {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let memory = server.memory()?;
    server.stop();
    pool.close().await;
    database.drop_now().await;

    figures.record(format!("rebuild_events_{name}"), events as f64);
    figures.record(format!("rebuild_events_per_s_{name}"), rebuild_per_s);
    figures.record(format!("raw_read_rows_per_s_{name}"), raw_rows_per_s);
    let note = if backend == Backend::Postgres {
        "target >= 0.5"
    } else {
        ""
    };
    figures.record_with(
        format!("rebuild_vs_raw_read_{name}"),
        rebuild_per_s / raw_rows_per_s,
        note,
    );
    figures.record_with(
        format!("rss_peak_replay_mb_{name}"),
        replay_peak_mb,
        "VmHWM of ledgerline replay",
    );
    figures.record_with(
        format!("rss_after_rebuild_mb_{name}"),
        memory.peak_mb,
        "VmHWM of a server started on it",
    );
    figures.record_with(
        format!("rss_resident_after_rebuild_mb_{name}"),
        memory.current_mb,
        "VmRSS of that server",
    );
    if backend == Backend::Postgres {
        figures.record_with("rss_after_rebuild_mb", memory.peak_mb, "VmHWM, Postgres");
    }
    Ok(())
}

/// Two account histories written by the real server on a database of its own: one that pays
/// (trial, activation, overage seats, an upgrade with its proration invoice, metered usage) and
/// one whose card is declined (invoice, failed payment, dunning, notification). Returns them
/// with the names of the policies that reacted to them.
async fn write_template(
    binary: &Binary,
    postgres: &Postgres,
    backend: Backend,
) -> Result<(Template, Vec<String>)> {
    let database = postgres.create(backend).await?;
    let server = binary.serve(&database.url)?;
    let pool = database.pool(2).await?;
    paying_account(&server.api).await?;
    declined_account(&server.api).await?;
    pool.settle().await?;
    server.stop();
    let template = Template::read(&pool).await?;
    let policies = pool
        .checkpoints()
        .await?
        .into_iter()
        .map(|checkpoint| checkpoint.name)
        .filter(|name| !READ_MODEL_NAMES.contains(&name.as_str()))
        .collect();
    pool.close().await;
    database.drop_now().await;
    Ok((template, policies))
}

async fn paying_account(api: &Api) -> Result<()> {
    let account_id = uuid::Uuid::new_v4().to_string();
    let subscription = start_trial(api, &account_id, "pm_card_visa").await?;
    let path = |action: &str| format!("/v1/subscriptions/{subscription}/{action}");
    api.post_ok(&path("activate"), &json!({})).await?;
    for _ in 0..5 {
        api.post_ok(&path("add-seats"), &json!({"count": 1}))
            .await?;
    }
    let upgrade = json!({"plan_id": "pro"});
    api.post_ok(&path("change-plan"), &upgrade).await?;
    entitlements_enabled(api, &account_id).await?;
    for _ in 0..20 {
        let usage_id = uuid::Uuid::new_v4().to_string();
        let body = json!({"feature": "api_calls", "quantity": 3, "usage_id": usage_id});
        api.post_ok(&format!("/v1/accounts/{account_id}/usage"), &body)
            .await?;
    }
    Ok(())
}

/// Waits for the policy that enables the account's entitlements: usage before it is refused.
async fn entitlements_enabled(api: &Api, account_id: &str) -> Result<()> {
    let features = format!("/v1/accounts/{account_id}/features");
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.get_ok(&features).await.is_err() {
        if Instant::now() > deadline {
            return Err("the account's entitlements were not enabled within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn declined_account(api: &Api) -> Result<()> {
    let account_id = uuid::Uuid::new_v4().to_string();
    let subscription = start_trial(api, &account_id, "pm_card_chargeDeclined").await?;
    let activate = format!("/v1/subscriptions/{subscription}/activate");
    api.post_ok(&activate, &json!({})).await?;
    Ok(())
}

async fn start_trial(api: &Api, account_id: &str, payment_method: &str) -> Result<String> {
    let body = json!({
        "account_id": account_id,
        "plan_id": "starter",
        "seats": 1,
        "billing_email": "billing@example.com",
        "payment_method": payment_method,
        "overage_billing": true,
    });
    let reply = api.post_ok("/v1/subscriptions", &body).await?;
    Ok(reply["aggregate_id"]
        .as_str()
        .ok_or("a started trial answers its aggregate_id")?
        .to_owned())
}

async fn read_models_at(pool: &Pool, head: i64) -> Result<bool> {
    let checkpoints = pool.checkpoints().await?;
    Ok(READ_MODEL_NAMES.iter().all(|name| {
        checkpoints
            .iter()
            .any(|checkpoint| checkpoint.name == *name && checkpoint.position == head)
    }))
}

/// Rows per second of a plain read of the whole events table: `COPY … TO STDOUT` on Postgres,
/// `SELECT *` on SQLite.
async fn raw_read(pool: &Pool) -> Result<f64> {
    let started = Instant::now();
    let rows = match pool {
        Pool::Postgres(pool) => {
            let mut connection = pool.acquire().await?;
            let mut out = connection.copy_out_raw("COPY events TO STDOUT").await?;
            let mut lines = 0;
            while let Some(chunk) = out.try_next().await? {
                lines += chunk.iter().filter(|byte| **byte == b'\n').count();
            }
            lines
        }
        Pool::Sqlite(pool) => {
            let mut rows = sqlx::query("SELECT * FROM events").fetch(pool);
            let mut count = 0;
            while rows.try_next().await?.is_some() {
                count += 1;
            }
            count
        }
    };
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}
