//! "May this account use feature F now?" (SPEC 5, Feature Access View). One pure decision,
//! shared by the aggregate and by the read model so the two can never disagree.

use serde::{Deserialize, Serialize};

use super::EntitlementStatus;

/// Why access is allowed or not. When several reasons apply, the first in this order wins:
/// the account's standing, then the plan, then the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessReason {
    Allowed,
    /// Entitlements were never enabled for the account.
    NotEnabled,
    /// Suspended by dunning.
    Suspended,
    /// The subscription was cancelled.
    Revoked,
    /// The plan does not grant the feature.
    NotInPlan,
    /// The feature's usage this period has reached its limit.
    LimitReached,
}

/// The answer for one feature. `limit` and `remaining` are `None` when the feature is unlimited
/// or not metered; `used` is this period's recorded usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureAccess {
    pub allowed: bool,
    pub reason: AccessReason,
    pub limit: Option<u64>,
    pub used: u64,
    pub remaining: Option<u64>,
}

impl FeatureAccess {
    /// Decides access from the account's entitlement `status`, whether its plan grants the
    /// feature (`in_plan`), the feature's per-period `limit` (`None`: unlimited or not metered)
    /// and the usage `used` so far this period. Allowed only when enabled, in the plan and
    /// `used < limit`.
    pub fn decide(status: EntitlementStatus, in_plan: bool, limit: Option<u64>, used: u64) -> Self {
        let reason = match status {
            EntitlementStatus::None => AccessReason::NotEnabled,
            EntitlementStatus::Suspended => AccessReason::Suspended,
            EntitlementStatus::Revoked => AccessReason::Revoked,
            EntitlementStatus::Enabled if !in_plan => AccessReason::NotInPlan,
            EntitlementStatus::Enabled if limit.is_some_and(|limit| used >= limit) => {
                AccessReason::LimitReached
            }
            EntitlementStatus::Enabled => AccessReason::Allowed,
        };
        // A feature the plan does not grant has no limit to report, whatever the map says.
        let limit = limit.filter(|_| in_plan);
        Self {
            allowed: reason == AccessReason::Allowed,
            reason,
            limit,
            used,
            remaining: limit.map(|limit| limit.saturating_sub(used)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use AccessReason::*;
    use EntitlementStatus as S;

    #[test]
    fn access_is_decided_by_standing_then_plan_then_limit() {
        // (status, in_plan, limit, used) -> (reason, remaining)
        let cases = [
            (S::Enabled, true, Some(10), 9, Allowed, Some(1)),
            (S::Enabled, true, Some(10), 10, LimitReached, Some(0)),
            (S::Enabled, true, Some(10), 25, LimitReached, Some(0)),
            (S::Enabled, true, Some(0), 0, LimitReached, Some(0)),
            (S::Enabled, true, None, 1_000_000, Allowed, None),
            (S::Enabled, false, None, 0, NotInPlan, None),
            (S::Enabled, false, Some(10), 0, NotInPlan, None),
            (S::None, false, None, 0, NotEnabled, None),
            (S::Suspended, true, Some(10), 0, Suspended, Some(10)),
            (S::Suspended, false, None, 0, Suspended, None),
            (S::Revoked, true, Some(10), 3, Revoked, Some(7)),
            (S::Revoked, true, Some(10), 30, Revoked, Some(0)),
        ];
        for (status, in_plan, limit, used, reason, remaining) in cases {
            let access = FeatureAccess::decide(status, in_plan, limit, used);
            let case = format!("{status:?} in_plan={in_plan} limit={limit:?} used={used}");
            assert_eq!(access.reason, reason, "{case}");
            assert_eq!(access.allowed, reason == Allowed, "{case}");
            assert_eq!(access.used, used, "{case}");
            assert_eq!(access.remaining, remaining, "{case}");
            assert_eq!(access.limit, limit.filter(|_| in_plan), "{case}");
        }
    }

    #[test]
    fn the_reason_is_snake_case_on_the_wire() {
        let json =
            serde_json::to_value(FeatureAccess::decide(S::Enabled, true, Some(5), 5)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "allowed": false, "reason": "limit_reached", "limit": 5, "used": 5, "remaining": 0
            })
        );
    }
}
