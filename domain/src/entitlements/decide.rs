//! How each Entitlements command is decided: validate against the current state, then return
//! the events to record (none when the command would change nothing). Pure: time and plans come
//! from the services, and nothing here mutates the aggregate.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    Entitlements, EntitlementsCommand, EntitlementsEvent, EntitlementsRule, EntitlementsState,
    Standing,
};
use crate::catalog::{Plan, PlanCatalog};
use crate::error::DomainError;
use crate::period::BillingPeriod;
use crate::services::BillingServices;
use crate::values::{AccountId, FeatureKey, PlanId};

pub(super) type Decision = Result<Vec<EntitlementsEvent>, DomainError>;

/// The longest revocation reason kept; reasons are codes or a short sentence.
const MAX_REASON_CHARS: usize = 500;

impl Entitlements {
    pub(super) fn decide(
        &self,
        command: EntitlementsCommand,
        services: &BillingServices,
    ) -> Decision {
        let at = services.clock.now();
        match command {
            EntitlementsCommand::EnableEntitlements {
                account_id,
                plan_id,
                period,
            } => self.enable(account_id, plan_id, period, &services.catalog, at),
            EntitlementsCommand::RecalculateEntitlements { plan_id } => {
                self.existing()?.recalculate(plan_id, &services.catalog, at)
            }
            EntitlementsCommand::SuspendEntitlements {
                dunning_case_id,
                window_expires_at,
            } => self
                .existing()?
                .suspend(dunning_case_id, window_expires_at, at),
            EntitlementsCommand::RestoreEntitlements => self.existing()?.restore(at),
            EntitlementsCommand::RevokeEntitlements { reason } => {
                self.existing()?.revoke(reason, at)
            }
            EntitlementsCommand::RecordUsage {
                feature,
                quantity,
                usage_id,
                timestamp,
            } => self
                .existing()?
                .record_usage(feature, quantity, usage_id, timestamp, at),
            EntitlementsCommand::ResetUsage { period } => self.existing()?.reset_usage(period, at),
            EntitlementsCommand::BillUsage {
                invoice_id,
                period,
                plan_id,
            } => self
                .existing()?
                .bill_usage(invoice_id, period, &plan_id, &services.catalog, at),
            EntitlementsCommand::AddCommitment { feature } => {
                self.existing()?.add_commitment(feature, at)
            }
            EntitlementsCommand::ReleaseCommitment { feature } => {
                self.existing()?.release_commitment(feature, at)
            }
        }
    }

    /// Every command but the creation one addresses entitlements that were enabled once.
    fn existing(&self) -> Result<&EntitlementsState, DomainError> {
        self.state.as_ref().ok_or(DomainError::NotFound {
            aggregate: <Self as cqrs_es::Aggregate>::TYPE,
        })
    }

    fn enable(
        &self,
        account_id: AccountId,
        plan_id: PlanId,
        period: BillingPeriod,
        catalog: &PlanCatalog,
        at: DateTime<Utc>,
    ) -> Decision {
        check_period(&period)?;
        if let Some(state) = &self.state {
            if state.account_id != account_id {
                return Err(DomainError::invalid(
                    "account_id",
                    format!(
                        "these are the entitlements of account `{}`, not `{account_id}`",
                        state.account_id
                    ),
                ));
            }
            if let Standing::Suspended { dunning_case_id } = state.standing {
                return Err(EntitlementsRule::EntitlementsSuspended { dunning_case_id }.into());
            }
        }
        let plan = plan_of(catalog, &plan_id)?;
        let unchanged = self.state.as_ref().is_some_and(|state| {
            state.standing == Standing::Enabled
                && state.period == period
                && state.grants_exactly(plan)
        });
        if unchanged {
            return Ok(vec![]);
        }
        Ok(vec![EntitlementsEvent::EntitlementsEnabled {
            account_id,
            plan_id,
            features: plan.features.clone(),
            limits: plan.limits.clone(),
            period,
            at,
        }])
    }
}

impl EntitlementsState {
    /// Whether the state already grants exactly what `plan` grants (same id, features, limits).
    fn grants_exactly(&self, plan: &Plan) -> bool {
        self.plan_id == plan.id && self.features == plan.features && self.limits == plan.limits
    }

    pub(super) fn ensure_not_revoked(&self) -> Result<(), EntitlementsRule> {
        match self.standing {
            Standing::Revoked { .. } => Err(EntitlementsRule::EntitlementsRevoked),
            Standing::Enabled | Standing::Suspended { .. } => Ok(()),
        }
    }

    pub(super) fn ensure_granted(&self, feature: &FeatureKey) -> Result<(), EntitlementsRule> {
        if self.features.contains(feature) {
            Ok(())
        } else {
            Err(EntitlementsRule::FeatureNotInPlan {
                feature: feature.clone(),
                plan_id: self.plan_id.clone(),
            })
        }
    }

    fn recalculate(&self, plan_id: PlanId, catalog: &PlanCatalog, at: DateTime<Utc>) -> Decision {
        self.ensure_not_revoked()?;
        let plan = plan_of(catalog, &plan_id)?;
        if self.grants_exactly(plan) {
            return Ok(vec![]);
        }
        Ok(vec![EntitlementsEvent::EntitlementsRecalculated {
            plan_id,
            features: plan.features.clone(),
            limits: plan.limits.clone(),
            removed_features: self.features.difference(&plan.features).cloned().collect(),
            at,
        }])
    }

    fn suspend(
        &self,
        dunning_case_id: Uuid,
        window_expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Decision {
        match self.standing {
            Standing::Revoked { .. } => Err(EntitlementsRule::EntitlementsRevoked.into()),
            Standing::Suspended {
                dunning_case_id: by,
            } if by == dunning_case_id => Ok(vec![]),
            Standing::Suspended {
                dunning_case_id: by,
            } => Err(EntitlementsRule::SuspendedByAnotherCase {
                dunning_case_id: by,
            }
            .into()),
            // Seed rule: no entitlement suspension before the dunning window expires.
            Standing::Enabled if at < window_expires_at => {
                Err(EntitlementsRule::DunningWindowNotExpired { window_expires_at }.into())
            }
            Standing::Enabled => Ok(vec![EntitlementsEvent::EntitlementsSuspended {
                dunning_case_id,
                at,
            }]),
        }
    }

    fn restore(&self, at: DateTime<Utc>) -> Decision {
        match self.standing {
            Standing::Revoked { .. } => Err(EntitlementsRule::EntitlementsRevoked.into()),
            Standing::Enabled => Ok(vec![]),
            Standing::Suspended { .. } => Ok(vec![EntitlementsEvent::EntitlementsRestored { at }]),
        }
    }

    fn revoke(&self, reason: String, at: DateTime<Utc>) -> Decision {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(DomainError::invalid(
                "reason",
                format!("expected 1 to {MAX_REASON_CHARS} characters"),
            ));
        }
        match self.standing {
            Standing::Revoked { .. } => Ok(vec![]),
            Standing::Enabled | Standing::Suspended { .. } => {
                Ok(vec![EntitlementsEvent::EntitlementsRevoked {
                    reason: reason.to_owned(),
                    at,
                }])
            }
        }
    }

    fn add_commitment(&self, feature: FeatureKey, at: DateTime<Utc>) -> Decision {
        self.ensure_not_revoked()?;
        self.ensure_granted(&feature)?;
        if self.commitments.contains(&feature) {
            return Ok(vec![]);
        }
        Ok(vec![EntitlementsEvent::CommitmentAdded { feature, at }])
    }

    /// Releasing is idempotent, like the REST `DELETE` it serves, and allowed in any standing:
    /// dropping a protection can never grant anything.
    fn release_commitment(&self, feature: FeatureKey, at: DateTime<Utc>) -> Decision {
        if !self.commitments.contains(&feature) {
            return Ok(vec![]);
        }
        Ok(vec![EntitlementsEvent::CommitmentReleased { feature, at }])
    }
}

pub(super) fn plan_of<'a>(
    catalog: &'a PlanCatalog,
    plan_id: &PlanId,
) -> Result<&'a Plan, EntitlementsRule> {
    catalog
        .get(plan_id)
        .ok_or_else(|| EntitlementsRule::UnknownPlan {
            plan_id: plan_id.clone(),
        })
}

/// `BillingPeriod`'s fields are public, so a deserialised one may be empty or inverted.
pub(super) fn check_period(period: &BillingPeriod) -> Result<(), DomainError> {
    if period.start < period.end {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "period",
            format!(
                "the period must end after it starts ({} .. {})",
                period.start, period.end
            ),
        ))
    }
}
