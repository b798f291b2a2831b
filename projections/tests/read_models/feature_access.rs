//! The Feature Access View answers "may account X use F now?" as the Entitlements aggregate
//! would, through every change of standing, plan and usage.

use domain::entitlements::{AccessReason, Entitlements, EntitlementsCommand};
use infrastructure::testing::Backend;
use projections::{FeatureAccessView, Projections, ReadModels};
use uuid::Uuid;

use crate::fixtures::*;
use projections::Consistency::ReadYourWrites;

const PROBED: [&str; 5] = ["projects", "api_calls", "email_support", "analytics", "sso"];

/// Waits for `position`, then checks every probed feature against the aggregate's own answer.
async fn agrees_with_the_aggregate(
    h: &Harness,
    projections: &Projections,
    acct: &str,
    position: i64,
) {
    projections.wait_for(position, PATIENCE).await.unwrap();
    let aggregate = h.bus.load::<Entitlements>(acct).await.unwrap().aggregate;
    for key in PROBED {
        let view = h
            .read_models()
            .feature(&account(acct), &feature(key), ReadYourWrites)
            .await
            .unwrap()
            .unwrap();
        let expected = aggregate.access(&feature(key));
        let got = (
            view.allowed,
            view.reason,
            view.limit,
            view.used,
            view.remaining,
        );
        let want = (
            expected.allowed,
            expected.reason,
            expected.limit,
            expected.used,
            expected.remaining,
        );
        assert_eq!(got, want, "{key} after position {position}");
    }
}

async fn access(models: &ReadModels, acct: &str, key: &str) -> FeatureAccessView {
    models
        .feature(&account(acct), &feature(key), ReadYourWrites)
        .await
        .unwrap()
        .unwrap()
}

async fn access_follows_standing_plan_and_usage(backend: Backend) {
    let h = Harness::new(backend).await;
    let projections = h.start(options(500));
    let models = h.read_models();
    let acct = "acct_features";
    assert_eq!(
        models
            .feature(&account(acct), &feature("projects"), ReadYourWrites)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        models
            .features(&account(acct), ReadYourWrites)
            .await
            .unwrap(),
        None
    );

    h.start_trial(acct, "starter", 1).await;
    h.enable(acct, "starter", trial_period(14)).await;
    h.record_usage(acct, "projects", 4).await;
    h.record_usage(acct, "projects", 6).await;
    let position = h.record_usage(acct, "api_calls", 100).await;
    agrees_with_the_aggregate(&h, &projections, acct, position).await;

    let projects = access(&models, acct, "projects").await;
    assert_eq!(
        (
            projects.allowed,
            projects.reason,
            projects.limit,
            projects.used,
            projects.remaining
        ),
        (false, AccessReason::LimitReached, Some(10), 10, Some(0))
    );
    let api_calls = access(&models, acct, "api_calls").await;
    assert_eq!((api_calls.allowed, api_calls.remaining), (true, Some(9900)));
    let support = access(&models, acct, "email_support").await;
    assert_eq!(
        (support.allowed, support.limit, support.remaining),
        (true, None, None)
    );
    assert_eq!(
        access(&models, acct, "sso").await.reason,
        AccessReason::NotInPlan
    );
    let listed: Vec<String> = models
        .features(&account(acct), ReadYourWrites)
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|view| view.feature)
        .collect();
    assert_eq!(listed, ["api_calls", "email_support", "projects"]);
    let json = serde_json::to_value(&projects).unwrap();
    assert_eq!(json["reason"], "limit_reached");
    assert_eq!(json["account_id"], acct);

    let suspend = EntitlementsCommand::SuspendEntitlements {
        dunning_case_id: Uuid::new_v4(),
        window_expires_at: t0(),
    };
    let position = h.entitlements(acct, suspend).await;
    agrees_with_the_aggregate(&h, &projections, acct, position).await;
    assert_eq!(
        access(&models, acct, "email_support").await.reason,
        AccessReason::Suspended
    );

    h.entitlements(acct, EntitlementsCommand::RestoreEntitlements)
        .await;
    let recalculate = EntitlementsCommand::RecalculateEntitlements {
        plan_id: plan("pro"),
    };
    let position = h.entitlements(acct, recalculate).await;
    agrees_with_the_aggregate(&h, &projections, acct, position).await;
    // Pro's limit is 50 and this period's usage is kept across the plan change.
    let projects = access(&models, acct, "projects").await;
    assert_eq!(
        (projects.allowed, projects.used, projects.remaining),
        (true, 10, Some(40))
    );
    assert!(access(&models, acct, "analytics").await.allowed);

    let reset = EntitlementsCommand::ResetUsage {
        period: trial_period(44),
    };
    let position = h.entitlements(acct, reset).await;
    agrees_with_the_aggregate(&h, &projections, acct, position).await;
    assert_eq!(access(&models, acct, "projects").await.used, 0);

    let revoke = EntitlementsCommand::RevokeEntitlements {
        reason: "cancelled".into(),
    };
    let position = h.entitlements(acct, revoke).await;
    agrees_with_the_aggregate(&h, &projections, acct, position).await;
    assert_eq!(
        access(&models, acct, "projects").await.reason,
        AccessReason::Revoked
    );
    projections.stop().await;
}

async fn a_dropped_feature_with_usage_stays_listed_until_a_new_period(backend: Backend) {
    let h = Harness::new(backend).await;
    let projections = h.start(options(500));
    let models = h.read_models();
    let acct = "acct_periods";
    let listed = |views: Option<Vec<FeatureAccessView>>| -> Vec<(String, bool, u64)> {
        views
            .expect("entitlements enabled")
            .into_iter()
            .map(|v| (v.feature, v.allowed, v.used))
            .collect()
    };
    let acct_id = account(acct);
    let features = || models.features(&acct_id, ReadYourWrites);

    h.start_trial(acct, "pro", 1).await;
    h.enable(acct, "pro", trial_period(14)).await;
    h.record_usage(acct, "analytics", 3).await;
    h.record_usage(acct, "api_calls", 7).await;
    // The same period under another plan: usage is kept, analytics is no longer granted.
    let position = h.enable(acct, "starter", trial_period(14)).await;
    agrees_with_the_aggregate(&h, &projections, acct, position).await;
    let analytics = access(&models, acct, "analytics").await;
    assert_eq!(
        (analytics.reason, analytics.used),
        (AccessReason::NotInPlan, 3)
    );
    assert_eq!(
        listed(features().await.unwrap()),
        [
            ("analytics".into(), false, 3),
            ("api_calls".into(), true, 7),
            ("email_support".into(), true, 0),
            ("projects".into(), true, 0),
        ]
    );

    // A new period: counters restart, and a feature neither granted nor used is not listed.
    let position = h.enable(acct, "starter", trial_period(30)).await;
    agrees_with_the_aggregate(&h, &projections, acct, position).await;
    assert_eq!(
        listed(features().await.unwrap()),
        [
            ("api_calls".into(), true, 0),
            ("email_support".into(), true, 0),
            ("projects".into(), true, 0),
        ]
    );
    projections.stop().await;
}

infrastructure::on_both_backends!(
    access_follows_standing_plan_and_usage,
    a_dropped_feature_with_usage_stays_listed_until_a_new_period,
);
