//! What can be asked of a dunning case, and how each request is decided: validated in full
//! against the case and the clock, then answered with the events to record (none when the
//! request is already satisfied).

use chrono::{DateTime, TimeDelta, Utc};
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dunning::{
    CaseClosure, DunningCase, DunningEvent, DunningPolicy, DunningRule, DunningStage,
    DunningStatus, NotificationKind, StartedCase,
};
use crate::error::DomainError;
use crate::money::Money;
use crate::values::require_text;
use crate::values::AccountId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DunningCommand {
    /// Opens the case after the first failed payment of `invoice_id`.
    StartDunning {
        case_id: Uuid,
        account_id: AccountId,
        subscription_id: Option<Uuid>,
        invoice_id: Uuid,
        amount_due: Money,
        failure_reason: String,
        failure_code: String,
        hard_decline: bool,
    },
    /// An extra retry, e.g. right after a new payment method is attached.
    ScheduleRetry {
        at: DateTime<Utc>,
    },
    RecordRetryOutcome {
        succeeded: bool,
        failure_reason: Option<String>,
    },
    /// Exactly once per `dedupe_key`; also accepted on a closed case (recovery and
    /// cancellation notices are sent after the case closes).
    RecordNotification {
        kind: NotificationKind,
        dedupe_key: String,
    },
    Escalate {
        reason: String,
    },
    MarkSuspended,
    Recover,
    CancelDunning,
    Assign {
        agent: String,
    },
    AddNote {
        text: String,
        author: Option<String>,
    },
    ExtendWindow {
        until: DateTime<Utc>,
    },
    ResolveManually {
        resolution: String,
    },
    /// The system closes the case (see [`CaseClosure`]); a case already closed stays as it is.
    CloseCase {
        reason: CaseClosure,
    },
}

type Decision = Result<Vec<DunningEvent>, DomainError>;

impl DunningCase {
    /// The events `command` produces at `now`, or why it is refused. Pure: changes nothing.
    pub(super) fn decide(
        &self,
        command: DunningCommand,
        now: DateTime<Utc>,
        policy: &DunningPolicy,
    ) -> Decision {
        let Some(case) = &self.case else {
            return match command {
                DunningCommand::StartDunning {
                    case_id,
                    account_id,
                    subscription_id,
                    invoice_id,
                    amount_due,
                    failure_reason,
                    failure_code,
                    hard_decline,
                } => {
                    if amount_due.amount <= 0 {
                        return Err(DomainError::invalid(
                            "amount_due",
                            "must be greater than zero",
                        ));
                    }
                    amount_due.check_bound("amount_due")?;
                    require_text("failure_reason", &failure_reason, 500)?;
                    require_text("failure_code", &failure_code, 64)?;
                    let Deadlines {
                        window_expires_at,
                        cancel_at,
                        retry_schedule,
                    } = deadlines(policy, now, hard_decline)?;
                    let escalation = hard_decline.then(|| DunningEvent::DunningEscalated {
                        reason: format!("hard_decline: {failure_code}"),
                        at: now,
                    });
                    let started = DunningEvent::DunningStarted {
                        case_id,
                        account_id,
                        subscription_id,
                        invoice_id,
                        amount_due,
                        failure_reason,
                        failure_code,
                        started_at: now,
                        window_expires_at,
                        cancel_at,
                        retry_schedule,
                    };
                    Ok(std::iter::once(started).chain(escalation).collect())
                }
                _ => Err(DomainError::NotFound {
                    aggregate: DunningCase::TYPE,
                }),
            };
        };
        match command {
            DunningCommand::StartDunning { .. } => Err(DunningRule::AlreadyStarted.into()),
            DunningCommand::RecordNotification { kind, dedupe_key } => {
                case.record_notification(kind, dedupe_key, now)
            }
            DunningCommand::CloseCase { .. } if case.status != DunningStatus::Open => Ok(vec![]),
            DunningCommand::CloseCase { reason } => {
                Ok(vec![DunningEvent::DunningClosed { reason, at: now }])
            }
            _ if case.status != DunningStatus::Open => Err(DunningRule::CaseClosed {
                status: case.status,
            }
            .into()),
            DunningCommand::ScheduleRetry { at } => case.schedule_retry(at, now),
            DunningCommand::RecordRetryOutcome {
                succeeded,
                failure_reason,
            } => case.record_retry_outcome(succeeded, failure_reason, now),
            DunningCommand::Escalate { reason } => {
                require_text("reason", &reason, 500)?;
                Ok(match case.stage {
                    DunningStage::Retrying => {
                        vec![DunningEvent::DunningEscalated { reason, at: now }]
                    }
                    DunningStage::Escalated | DunningStage::Suspended => vec![],
                })
            }
            DunningCommand::MarkSuspended => case.mark_suspended(now),
            DunningCommand::Recover => Ok(vec![DunningEvent::DunningRecovered { at: now }]),
            DunningCommand::CancelDunning => {
                if now < case.cancel_at {
                    return Err(DunningRule::CancellationNotDue {
                        cancel_at: case.cancel_at,
                    }
                    .into());
                }
                Ok(vec![DunningEvent::DunningCancelled {
                    reason: "dunning_exhausted".into(),
                    at: now,
                }])
            }
            DunningCommand::Assign { agent } => {
                require_text("agent", &agent, 100)?;
                if case.assigned_agent.as_ref() == Some(&agent) {
                    return Ok(vec![]);
                }
                Ok(vec![DunningEvent::DunningCaseAssigned { agent, at: now }])
            }
            DunningCommand::AddNote { text, author } => {
                require_text("text", &text, 2000)?;
                if let Some(author) = &author {
                    require_text("author", author, 100)?;
                }
                Ok(vec![DunningEvent::DunningNoteAdded {
                    text,
                    author,
                    at: now,
                }])
            }
            DunningCommand::ExtendWindow { until } => case.extend_window(until, now),
            DunningCommand::ResolveManually { resolution } => {
                require_text("resolution", &resolution, 500)?;
                Ok(vec![DunningEvent::DunningResolved {
                    resolution,
                    at: now,
                }])
            }
        }
    }
}

impl StartedCase {
    fn schedule_retry(&self, retry_at: DateTime<Utc>, now: DateTime<Utc>) -> Decision {
        if retry_at < now {
            return Err(DunningRule::RetryInThePast { now }.into());
        }
        if retry_at >= self.cancel_at {
            return Err(DunningRule::RetryAfterCancellation {
                cancel_at: self.cancel_at,
            }
            .into());
        }
        if self.retry_schedule.contains(&retry_at) {
            return Ok(vec![]);
        }
        Ok(vec![DunningEvent::RetryScheduled { retry_at, at: now }])
    }

    fn record_retry_outcome(
        &self,
        succeeded: bool,
        failure_reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Decision {
        match (&failure_reason, succeeded) {
            (Some(_), true) => {
                return Err(DomainError::invalid(
                    "failure_reason",
                    "must be absent when the retry succeeded",
                ))
            }
            (Some(reason), false) => require_text("failure_reason", reason, 500)?,
            (None, _) => {}
        }
        let recorded = self.attempts.len().saturating_add(1);
        let attempt = u32::try_from(recorded)
            .map_err(|_| DomainError::invalid("attempt", "too many retries"))?;
        let last_scheduled_failed = !succeeded && recorded >= self.retry_schedule.len();
        let mut events = vec![DunningEvent::RetryOutcomeRecorded {
            attempt,
            succeeded,
            failure_reason,
            at: now,
        }];
        if last_scheduled_failed && self.stage == DunningStage::Retrying {
            events.push(DunningEvent::DunningEscalated {
                reason: "retries_exhausted".into(),
                at: now,
            });
        }
        Ok(events)
    }

    fn record_notification(
        &self,
        kind: NotificationKind,
        dedupe_key: String,
        now: DateTime<Utc>,
    ) -> Decision {
        require_text("dedupe_key", &dedupe_key, 200)?;
        if self
            .notifications
            .iter()
            .any(|n| n.dedupe_key == dedupe_key)
        {
            return Ok(vec![]);
        }
        Ok(vec![DunningEvent::NotificationRecorded {
            kind,
            dedupe_key,
            at: now,
        }])
    }

    fn mark_suspended(&self, now: DateTime<Utc>) -> Decision {
        if self.stage == DunningStage::Suspended {
            return Ok(vec![]);
        }
        if now < self.window_expires_at {
            return Err(DunningRule::WindowNotExpired {
                window_expires_at: self.window_expires_at,
            }
            .into());
        }
        Ok(vec![DunningEvent::DunningSuspended { at: now }])
    }

    fn extend_window(&self, until: DateTime<Utc>, now: DateTime<Utc>) -> Decision {
        if self.stage == DunningStage::Suspended {
            return Err(DunningRule::AlreadySuspended.into());
        }
        if until <= self.window_expires_at {
            return Err(DunningRule::WindowNotExtended {
                current: self.window_expires_at,
            }
            .into());
        }
        if until <= now {
            return Err(DunningRule::WindowEndInThePast { now }.into());
        }
        if until > self.cancel_at {
            return Err(DunningRule::WindowBeyondCancellation {
                cancel_at: self.cancel_at,
            }
            .into());
        }
        Ok(vec![DunningEvent::DunningWindowExtended {
            window_expires_at: until,
            previous: self.window_expires_at,
            at: now,
        }])
    }
}

fn days_after(start: DateTime<Utc>, days: u32) -> Result<DateTime<Utc>, DomainError> {
    TimeDelta::try_days(i64::from(days))
        .and_then(|delta| start.checked_add_signed(delta))
        .ok_or_else(|| {
            DomainError::invalid("dunning_policy", format!("{days} days is out of range"))
        })
}

/// A new case's dates, counted from the first failure.
struct Deadlines {
    window_expires_at: DateTime<Utc>,
    cancel_at: DateTime<Utc>,
    retry_schedule: Vec<DateTime<Utc>>,
}

fn deadlines(
    policy: &DunningPolicy,
    now: DateTime<Utc>,
    hard_decline: bool,
) -> Result<Deadlines, DomainError> {
    // Card networks penalise retrying a lost or stolen card: after a hard decline only a new
    // payment method brings a retry (ScheduleRetry).
    let retry_days: &[u32] = if hard_decline {
        &[]
    } else {
        &policy.retry_days
    };
    let mut retry_schedule = retry_days
        .iter()
        .map(|days| days_after(now, *days))
        .collect::<Result<Vec<_>, _>>()?;
    retry_schedule.sort();
    retry_schedule.dedup();
    Ok(Deadlines {
        window_expires_at: days_after(now, policy.window_days)?,
        cancel_at: days_after(now, policy.cancel_after_days)?,
        retry_schedule,
    })
}
