//! Benchmark 5: the product's hot path, `GET /v1/accounts/{id}/features/{feature}`, over
//! keep-alive connections from a fixed number of clients, on random accounts of the population.

use crate::accounts::Population;
use crate::figures::Figures;
use crate::load::closed_loop;
use crate::sizes::Sizes;
use crate::Result;

pub async fn run(population: &Population, sizes: &Sizes, figures: &mut Figures) -> Result<()> {
    println!(
        "feature check: {} keep-alive clients",
        sizes.feature_clients
    );
    let clients = population.clients();
    let outcome = closed_loop(sizes.feature_clients, sizes.duration, move |_, _| {
        let clients = clients.clone();
        async move {
            let account = clients.random_account();
            let path = format!("/v1/accounts/{}/features/api_calls", account.account_id);
            let answer = clients.api.get_ok(&path).await?;
            if answer["allowed"].as_bool() != Some(true) {
                return Err(format!("api_calls is not allowed: {answer}").into());
            }
            Ok(())
        }
    })
    .await;
    outcome.report_errors("feature checks");
    figures.record_with("feature_check_rps", outcome.per_second(), "target >= 10000");
    figures.record_with(
        "feature_check_p99_ms",
        outcome.latencies.ms(0.99),
        "target < 2",
    );
    figures.record("feature_check_errors", outcome.errors as f64);
    Ok(())
}
