//! The Account Subscription Summary holds what the commands did, field by field, and agrees
//! with the Subscription aggregate rebuilt from the same events.

use chrono::Duration;
use domain::entitlements::EntitlementsCommand;
use domain::invoice::{InvoiceCommand, OverpaymentRefundOutcome};
use domain::subscription::{Subscription, SubscriptionCommand};
use infrastructure::testing::Backend;
use projections::summary::{BalanceView, EntitlementsView, ScheduledChangeView, SeatsView};

use crate::fixtures::*;

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| value.to_string()).collect()
}

async fn a_subscription_s_life_is_summarised_field_by_field(backend: Backend) {
    let h = Harness::new(backend).await;
    let projections = h.start(options(500));
    let acct = "acct_summary";

    let (id, _) = h.start_trial(acct, "starter", 4).await;
    h.enable(acct, "starter", trial_period(14)).await;
    let sub = |command| h.subscription(id, command);
    sub(SubscriptionCommand::SetOverageBilling { enabled: true }).await;
    let position = sub(SubscriptionCommand::AddSeats { count: seats(3) }).await;

    projections.wait_for(position, PATIENCE).await.unwrap();
    let trialing = h.summary(acct).await.unwrap();
    assert_eq!(trialing.subscription_id, Some(id));
    assert_eq!(trialing.status, "trialing");
    assert_eq!(trialing.trial_ends_at, Some(t0() + Duration::days(14)));
    assert_eq!(trialing.current_period_start, None);
    assert_eq!(
        trialing.seats,
        SeatsView {
            count: 7,
            limit: Some(5),
            overage: 2,
            overage_billing: true
        }
    );
    assert_eq!(
        trialing.entitlements,
        EntitlementsView {
            status: "enabled".into(),
            features: strings(&["api_calls", "email_support", "projects"]),
        }
    );

    sub(SubscriptionCommand::AttachBillingAccount {
        billing_account: billing_account(),
    })
    .await;
    let activated_at = h.clock.advance(Duration::days(1));
    sub(SubscriptionCommand::ActivateSubscription).await;
    let upgrade = SubscriptionCommand::ChangePlan {
        plan_id: plan("pro"),
        confirm_feature_removal: false,
        committed_features: Default::default(),
        downgrade_now: false,
    };
    sub(upgrade).await;
    h.entitlements(
        acct,
        EntitlementsCommand::RecalculateEntitlements {
            plan_id: plan("pro"),
        },
    )
    .await;
    let downgrade = SubscriptionCommand::ChangePlan {
        plan_id: plan("starter"),
        confirm_feature_removal: false,
        committed_features: Default::default(),
        downgrade_now: false,
    };
    sub(downgrade).await;
    let cancel = SubscriptionCommand::CancelSubscription {
        at_period_end: true,
        comment: Some("too expensive".into()),
    };
    let position = sub(cancel).await;

    projections.wait_for(position, PATIENCE).await.unwrap();
    let summary = h.summary(acct).await.unwrap();
    let period_end = at("2026-04-02T00:00:00Z");
    assert_eq!(summary.account_id, acct);
    assert_eq!(summary.plan_id.as_deref(), Some("pro"));
    assert_eq!(summary.status, "active");
    assert_eq!(summary.current_period_start, Some(activated_at));
    assert_eq!(summary.current_period_end, Some(period_end));
    assert_eq!(
        summary.seats,
        SeatsView {
            count: 7,
            limit: Some(20),
            overage: 0,
            overage_billing: true
        }
    );
    assert!(summary.cancel_at_period_end);
    assert_eq!(
        summary.scheduled_change,
        Some(ScheduledChangeView {
            plan_id: "starter".into(),
            effective_at: period_end
        })
    );
    assert_eq!(summary.entitlements.status, "enabled");
    assert_eq!(
        summary.entitlements.features,
        strings(&[
            "analytics",
            "api_access",
            "api_calls",
            "email_support",
            "priority_support",
            "projects"
        ])
    );
    // No invoice yet: nothing due, in the subscription's currency. (Dunning events are not read
    // yet.)
    assert_eq!(
        summary.balance_due,
        BalanceView {
            amount: 0,
            currency: Some("usd".into())
        }
    );
    assert!(!summary.in_dunning);
    assert_eq!(summary.dunning_case_id, None);

    // The same events folded by the aggregate give the same answers.
    let aggregate = h
        .bus
        .load::<Subscription>(&id.to_string())
        .await
        .unwrap()
        .aggregate;
    assert_eq!(summary.status, aggregate.status().as_str());
    assert_eq!(
        summary.plan_id.as_deref(),
        aggregate.plan_id().map(|p| p.as_str())
    );
    assert_eq!(
        summary.seats.count,
        u64::from(aggregate.seats().unwrap().get())
    );
    assert_eq!(
        summary.current_period_end,
        aggregate.current_period().map(|p| p.end)
    );
    assert_eq!(
        summary.cancel_at_period_end,
        aggregate.cancel_at_period_end()
    );
    assert_eq!(
        summary
            .scheduled_change
            .map(|c| (c.plan_id, c.effective_at)),
        aggregate
            .scheduled_change()
            .map(|c| (c.plan_id.to_string(), c.effective_at))
    );

    let json = serde_json::to_value(h.summary(acct).await).unwrap();
    assert_eq!(json["seats"]["overage_billing"], true);
    assert_eq!(json["scheduled_change"]["plan_id"], "starter");
    assert_eq!(json["balance_due"]["amount"], 0);
    assert_eq!(json["entitlements"]["status"], "enabled");
    assert_eq!(json["trial_ends_at"], "2026-03-15T00:00:00Z");
    projections.stop().await;
}

async fn a_new_subscription_replaces_a_cancelled_one(backend: Backend) {
    let h = Harness::new(backend).await;
    let projections = h.start(options(500));
    let acct = "acct_again";

    let (first, _) = h.start_trial(acct, "starter", 1).await;
    h.enable(acct, "starter", trial_period(14)).await;
    let cancel = SubscriptionCommand::CancelSubscription {
        at_period_end: false,
        comment: Some("switching".into()),
    };
    let position = h.subscription(first, cancel).await;
    projections.wait_for(position, PATIENCE).await.unwrap();
    let cancelled = h.summary(acct).await.unwrap();
    assert_eq!(
        (cancelled.subscription_id, cancelled.status.as_str()),
        (Some(first), "cancelled")
    );

    let (second, position) = h.start_trial(acct, "pro", 2).await;
    projections.wait_for(position, PATIENCE).await.unwrap();
    let summary = h.summary(acct).await.unwrap();
    assert_ne!(first, second);
    assert_eq!(summary.subscription_id, Some(second));
    assert_eq!(summary.status, "trialing");
    assert_eq!(summary.plan_id.as_deref(), Some("pro"));
    assert_eq!(summary.seats.limit, Some(20));
    // The account's entitlements are the account's, not the subscription's.
    assert_eq!(summary.entitlements.status, "enabled");

    assert_eq!(h.summary("acct_unknown").await, None);
    projections.stop().await;
}

/// A charge the invoice did not owe (issue #20, H2) shows in the summary as held until it is
/// refunded, then as refunded, and each step has its timeline entry; the balance due is the
/// invoice's own.
async fn an_overpayment_and_its_refund_show_in_the_summary_and_the_timeline(backend: Backend) {
    let h = Harness::new(backend).await;
    let projections = h.start(options(500));
    let acct = "acct_overpaid";
    let (subscription, _) = h.start_trial(acct, "starter", 1).await;
    let (invoice, _) = h.issue(acct, Some(subscription), "usd", &[1900]).await;
    let attempt = InvoiceCommand::AttemptPayment {
        payment_method: billing_account().payment_method,
    };
    h.invoice(invoice, attempt).await;
    let payment_ref = format!("{invoice}:attempt:1");
    let taken = InvoiceCommand::RecordPayment {
        amount: money(1901, "usd"),
        payment_ref: payment_ref.clone(),
    };
    let position = h.invoice(invoice, taken).await.expect("an overpayment");
    projections.wait_for(position, PATIENCE).await.unwrap();
    let held = h.summary(acct).await.unwrap();
    assert_eq!(
        (held.overpayments.held, held.overpayments.refunded),
        (1901, 0)
    );
    assert_eq!(held.overpayments.currency.as_deref(), Some("usd"));
    assert_eq!(held.balance_due.amount, 1900, "the invoice is still owed");

    let refund = InvoiceCommand::RecordOverpaymentRefund {
        payment_ref,
        outcome: OverpaymentRefundOutcome::Refunded {
            refund_ref: "re_1".into(),
        },
    };
    let position = h.invoice(invoice, refund).await.expect("refunded");
    projections.wait_for(position, PATIENCE).await.unwrap();
    let refunded = h.summary(acct).await.unwrap();
    assert_eq!(
        (refunded.overpayments.held, refunded.overpayments.refunded),
        (0, 1901)
    );
    let timeline = h
        .read_models()
        .timeline(&account(acct), 100, None)
        .await
        .unwrap();
    let kinds: Vec<_> = timeline.items.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds[kinds.len() - 2..],
        ["overpayment_received", "overpayment_refunded"],
        "{kinds:?}"
    );
    assert_eq!(timeline.items.last().unwrap().amount, Some(1901));
    projections.stop().await;
}

infrastructure::on_both_backends!(
    a_subscription_s_life_is_summarised_field_by_field,
    a_new_subscription_replaces_a_cancelled_one,
    an_overpayment_and_its_refund_show_in_the_summary_and_the_timeline,
);
