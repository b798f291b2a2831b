//! Preview equals actual (SPEC 11.2, issue #15), as a property on the in-memory ports: for
//! random histories of seats, overage billing, an upgrade mid-period, usage and late usage, the
//! upcoming invoice taken a second before each renewal is, line by line, the renewal invoice
//! the billing policy then issues.

mod ports;

use application::previews::upcoming_invoice;
use chrono::Duration;
use domain::entitlements::{Entitlements, EntitlementsCommand, UsageId};
use domain::invoice::Invoice;
use domain::subscription::{Subscription, SubscriptionCommand};
use domain::{FeatureKey, PlanId, SeatCount};
use ports::{Ports, ACCOUNT};
use proptest::prelude::*;
use sagas::billing_policy::invoice_id;
use sagas::EntitlementsPolicyWorker;
use uuid::Uuid;

/// What a client does during a period.
#[derive(Debug, Clone)]
enum Step {
    AddSeats(u32),
    RemoveSeats(u32),
    OverageBilling(bool),
    Usage(u64),
    /// Usage dated an hour before the current period began.
    LateUsage(u64),
    UpgradeToPro,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1u32..8).prop_map(Step::AddSeats),
        (1u32..4).prop_map(Step::RemoveSeats),
        any::<bool>().prop_map(Step::OverageBilling),
        (1u64..60_000).prop_map(Step::Usage),
        (1u64..20_000).prop_map(Step::LateUsage),
        Just(Step::UpgradeToPro),
    ]
}

/// Does `step` on subscription `id` of `ACCOUNT`; the domain may refuse it (fewer than one seat,
/// an upgrade to the plan it is on), as it would a client's request.
async fn apply(ports: &Ports, id: Uuid, step: &Step, n: usize) {
    let seats = |count| SeatCount::parse(count).unwrap();
    let subscription_id = id.to_string();
    let subscription = |command| ports.try_execute::<Subscription>(&subscription_id, command);
    let usage = |quantity, timestamp| {
        let command = EntitlementsCommand::RecordUsage {
            feature: FeatureKey::parse("api_calls").unwrap(),
            quantity,
            usage_id: UsageId::parse(&format!("u{n}")).unwrap(),
            timestamp,
        };
        ports.try_execute::<Entitlements>(ACCOUNT, command)
    };
    let _refused_or_done = match step {
        Step::AddSeats(count) => subscription(SubscriptionCommand::AddSeats {
            count: seats(*count),
        })
        .await
        .map(drop),
        Step::RemoveSeats(count) => subscription(SubscriptionCommand::RemoveSeats {
            count: seats(*count),
        })
        .await
        .map(drop),
        Step::OverageBilling(enabled) => {
            subscription(SubscriptionCommand::SetOverageBilling { enabled: *enabled })
                .await
                .map(drop)
        }
        Step::UpgradeToPro => subscription(SubscriptionCommand::ChangePlan {
            plan_id: PlanId::parse("pro").unwrap(),
            confirm_feature_removal: false,
            committed_features: Default::default(),
            downgrade_now: false,
        })
        .await
        .map(drop),
        Step::Usage(quantity) => usage(*quantity, None).await.map(drop),
        Step::LateUsage(quantity) => {
            let loaded = ports.load::<Subscription>(&id.to_string()).await;
            let start = loaded.current_period().unwrap().start;
            usage(*quantity, Some(start - Duration::hours(1)))
                .await
                .map(drop)
        }
    };
}

/// Every policy that shapes an invoice reacts until the log stops growing.
async fn settle(ports: &Ports) {
    let (billing, dunning) = (ports.billing(), ports.dunning());
    let entitlements = EntitlementsPolicyWorker::new(ports.bus.clone(), ports.services.clone());
    loop {
        let before = ports.log.events().len();
        Ports::react(&entitlements, &ports.log.events()).await;
        ports.settle(&billing, &dunning).await;
        if ports.log.events().len() == before {
            return;
        }
    }
}

async fn previews_equal_renewals(periods: Vec<Vec<Step>>) {
    let ports = Ports::new();
    let id = ports.activated("pm_card_visa").await;
    settle(&ports).await;
    let mut n = 0;
    for steps in periods {
        let period = ports
            .load::<Subscription>(&id.to_string())
            .await
            .current_period()
            .unwrap();
        let slice = (period.end - period.start) / (steps.len() as i32 + 2);
        for (i, step) in steps.iter().enumerate() {
            ports
                .clock
                .advance_to(period.start + slice * (i as i32 + 1));
            n += 1;
            apply(&ports, id, step, n).await;
            settle(&ports).await;
        }
        ports.clock.advance_to(period.end - Duration::seconds(1));
        let preview = upcoming_invoice(&ports.bus, &ports.services, id)
            .await
            .expect("the preview")
            .expect("a renewal is coming");
        assert_eq!(preview.issued_at, period.end);

        ports.clock.advance_to(period.end);
        ports
            .subscription(id, SubscriptionCommand::RenewPeriod)
            .await;
        settle(&ports).await;
        let renewal = ports
            .log
            .events()
            .into_iter()
            .rfind(|event| event.event_type == "PeriodRenewed")
            .unwrap();
        let invoice = ports
            .load::<Invoice>(&invoice_id(renewal.metadata.event_id).to_string())
            .await;
        assert_eq!(preview.invoice.lines, invoice.lines(), "history: {steps:?}");
        assert_eq!(Some(&preview.invoice.currency), invoice.currency());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn the_upcoming_invoice_is_the_renewal_invoice(
        periods in prop::collection::vec(prop::collection::vec(step(), 0..6), 1..4)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(previews_equal_renewals(periods));
    }
}
