//! The endpoint store: secrets shown once, sealed at rest, rotated with a 24 h overlap.

use chrono::Duration;
use infrastructure::on_both_backends;
use infrastructure::portable;
use infrastructure::testing::{Backend, TestDatabase};
use infrastructure::webhooks::{EndpointChanges, SecretSealer};
use infrastructure::Secret;

use crate::support::{catalog_event, endpoint, start};

on_both_backends!(
    secrets_are_sealed_at_rest_when_a_key_is_given,
    a_rotated_secret_signs_beside_the_new_one_for_a_day,
    updates_and_deletes_change_only_what_they_name,
);

async fn stored_secret(store: &infrastructure::Store, id: &str) -> String {
    portable::query("SELECT secret FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .fetch_one(store.writer())
        .await
        .expect("the row")
        .get("secret")
}

async fn secrets_are_sealed_at_rest_when_a_key_is_given(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let sealer = SecretSealer::new(Some(&Secret::new("a key from the environment")));
    let events = vec!["*".to_owned()];
    let (sealed, secret) = store
        .create_webhook_endpoint("https://example.com/h", &events, None, &sealer, start())
        .await
        .unwrap();
    let at_rest = stored_secret(&store, &sealed.id).await;
    assert!(at_rest.starts_with("enc:v1:"), "{at_rest}");
    assert!(!at_rest.contains(secret.expose().trim_start_matches("whsec_")));
    let signing = store
        .webhook_signing_secrets(&sealed.id, &sealer, start())
        .await
        .unwrap();
    assert_eq!(signing, [secret]);
    // Without the key the sealed secret cannot be used.
    assert!(store
        .webhook_signing_secrets(&sealed.id, &SecretSealer::default(), start())
        .await
        .is_err());

    let (clear, secret) = store
        .create_webhook_endpoint(
            "https://example.com/h",
            &events,
            None,
            &SecretSealer::default(),
            start(),
        )
        .await
        .unwrap();
    assert_eq!(stored_secret(&store, &clear.id).await, secret.expose());
}

async fn a_rotated_secret_signs_beside_the_new_one_for_a_day(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let sealer = SecretSealer::default();
    let hooks = endpoint(&store, &["*"], start()).await;
    let old = store
        .webhook_signing_secrets(&hooks.id, &sealer, start())
        .await
        .unwrap();
    let rotated_at = start() + Duration::hours(1);
    let new = store
        .rotate_webhook_secret(&hooks.id, &sealer, rotated_at)
        .await
        .unwrap()
        .expect("the endpoint exists");
    let during = store
        .webhook_signing_secrets(&hooks.id, &sealer, rotated_at + Duration::hours(23))
        .await
        .unwrap();
    assert_eq!(during, [new.clone(), old[0].clone()]);
    let after = store
        .webhook_signing_secrets(&hooks.id, &sealer, rotated_at + Duration::hours(24))
        .await
        .unwrap();
    assert_eq!(after, [new]);
    assert_eq!(
        store
            .rotate_webhook_secret("we_missing", &sealer, start())
            .await
            .unwrap(),
        None
    );
}

async fn updates_and_deletes_change_only_what_they_name(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let hooks = endpoint(&store, &["*"], start()).await;
    let changes = EndpointChanges {
        enabled_events: Some(vec!["invoice.*".into()]),
        disabled: Some(true),
        ..EndpointChanges::default()
    };
    let changed = store
        .update_webhook_endpoint(&hooks.id, &changes, start())
        .await
        .unwrap()
        .expect("the endpoint exists");
    assert_eq!(changed.url, hooks.url);
    assert_eq!(changed.description, hooks.description);
    assert_eq!(changed.enabled_events, ["invoice.*"]);
    assert_eq!(changed.disabled_reason.as_deref(), Some("admin"));
    let enabled = EndpointChanges {
        disabled: Some(false),
        ..EndpointChanges::default()
    };
    let changed = store
        .update_webhook_endpoint(&hooks.id, &enabled, start())
        .await
        .unwrap()
        .expect("the endpoint exists");
    assert!(!changed.is_disabled());

    catalog_event(&store, 1, "invoice.paid", "acct_a").await;
    crate::support::fan_out(&store, &hooks, start()).await;
    assert!(store.delete_webhook_endpoint(&hooks.id).await.unwrap());
    assert!(!store.delete_webhook_endpoint(&hooks.id).await.unwrap());
    assert_eq!(store.webhook_endpoint(&hooks.id).await.unwrap(), None);
    assert!(store
        .list_webhook_deliveries(&hooks.id, None, 0, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .update_webhook_endpoint(&hooks.id, &enabled, start())
        .await
        .unwrap()
        .is_none());
}
