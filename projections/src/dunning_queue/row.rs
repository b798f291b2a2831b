//! One dunning case as the work queue keeps it, and how each case event changes it. The fold
//! follows `DunningCase::apply` for the fields the queue shows.

use chrono::{DateTime, Utc};
use domain::dunning::{DunningEvent, DunningStage, DunningStatus};

use crate::columns::{parse_timestamp, timestamp};
use infrastructure::consumers::ProjectionError;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QueueRow {
    pub case_id: String,
    pub account_id: String,
    pub subscription_id: Option<String>,
    pub invoice_id: String,
    pub amount_due: i64,
    pub currency: String,
    /// `open`, `recovered`, `cancelled` or `resolved`.
    pub status: String,
    /// `retrying`, `escalated` or `suspended`: the last stage of a closed case.
    pub stage: String,
    pub started_at: String,
    /// `started_at` in microseconds since the epoch: the age order.
    pub started_micros: i64,
    pub window_expires_at: String,
    pub cancel_at: String,
    /// JSON array of the retries scheduled and not yet run, in time order.
    pub retry_schedule: String,
    pub last_failure_reason: String,
    pub assigned_agent: Option<String>,
}

/// The column text of a stage: its wire name.
pub fn stage_name(stage: DunningStage) -> &'static str {
    match stage {
        DunningStage::Retrying => "retrying",
        DunningStage::Escalated => "escalated",
        DunningStage::Suspended => "suspended",
    }
}

/// A stage by its wire name; `None` for anything else.
pub fn parse_stage(text: &str) -> Option<DunningStage> {
    [
        DunningStage::Retrying,
        DunningStage::Escalated,
        DunningStage::Suspended,
    ]
    .into_iter()
    .find(|stage| stage_name(*stage) == text)
}

impl QueueRow {
    /// The row `DunningStarted` opens; `None` for any other event.
    pub(super) fn started(event: &DunningEvent) -> Option<Self> {
        let DunningEvent::DunningStarted {
            case_id,
            account_id,
            subscription_id,
            invoice_id,
            amount_due,
            failure_reason,
            started_at,
            window_expires_at,
            cancel_at,
            retry_schedule,
            ..
        } = event
        else {
            return None;
        };
        Some(Self {
            case_id: case_id.to_string(),
            account_id: account_id.to_string(),
            subscription_id: subscription_id.map(|id| id.to_string()),
            invoice_id: invoice_id.to_string(),
            amount_due: amount_due.amount,
            currency: amount_due.currency.to_string(),
            status: DunningStatus::Open.to_string(),
            stage: stage_name(DunningStage::Retrying).to_owned(),
            started_at: timestamp(*started_at),
            started_micros: started_at.timestamp_micros(),
            window_expires_at: timestamp(*window_expires_at),
            cancel_at: timestamp(*cancel_at),
            retry_schedule: schedule_text(retry_schedule),
            last_failure_reason: failure_reason.clone(),
            assigned_agent: None,
        })
    }

    pub(super) fn apply(&mut self, event: &DunningEvent) -> Result<(), ProjectionError> {
        match event {
            DunningEvent::DunningStarted { .. }
            | DunningEvent::NotificationRecorded { .. }
            | DunningEvent::DunningNoteAdded { .. } => {}
            DunningEvent::RetryScheduled { retry_at, .. } => {
                let mut schedule = self.schedule()?;
                schedule.push(*retry_at);
                schedule.sort();
                self.retry_schedule = schedule_text(&schedule);
            }
            DunningEvent::RetryOutcomeRecorded { failure_reason, .. } => {
                // Retries run in time order: the earliest still scheduled is the one that ran.
                let mut schedule = self.schedule()?;
                if !schedule.is_empty() {
                    schedule.remove(0);
                }
                self.retry_schedule = schedule_text(&schedule);
                if let Some(reason) = failure_reason {
                    self.last_failure_reason.clone_from(reason);
                }
            }
            DunningEvent::DunningEscalated { .. } => {
                self.stage = stage_name(DunningStage::Escalated).to_owned()
            }
            DunningEvent::DunningSuspended { .. } => {
                self.stage = stage_name(DunningStage::Suspended).to_owned()
            }
            DunningEvent::DunningRecovered { .. } => {
                self.status = DunningStatus::Recovered.to_string()
            }
            DunningEvent::DunningCancelled { .. } => {
                self.status = DunningStatus::Cancelled.to_string()
            }
            DunningEvent::DunningResolved { .. } => {
                self.status = DunningStatus::Resolved.to_string()
            }
            DunningEvent::DunningClosed { .. } => self.status = DunningStatus::Closed.to_string(),
            DunningEvent::DunningCaseAssigned { agent, .. } => {
                self.assigned_agent = Some(agent.clone())
            }
            DunningEvent::DunningWindowExtended {
                window_expires_at, ..
            } => self.window_expires_at = timestamp(*window_expires_at),
        }
        Ok(())
    }

    /// The retries scheduled and not yet run, in time order.
    pub fn schedule(&self) -> Result<Vec<DateTime<Utc>>, ProjectionError> {
        let texts: Vec<String> = serde_json::from_str(&self.retry_schedule).map_err(|e| {
            ProjectionError::Corrupt(format!("retry schedule of case {}: {e}", self.case_id))
        })?;
        texts.iter().map(|text| parse_timestamp(text)).collect()
    }
}

fn schedule_text(schedule: &[DateTime<Utc>]) -> String {
    let texts: Vec<String> = schedule.iter().copied().map(timestamp).collect();
    serde_json::Value::from(texts).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_read_back_by_their_wire_names() {
        for stage in [
            DunningStage::Retrying,
            DunningStage::Escalated,
            DunningStage::Suspended,
        ] {
            let wire = serde_json::to_value(stage).unwrap();
            assert_eq!(wire, stage_name(stage));
            assert_eq!(parse_stage(stage_name(stage)), Some(stage));
        }
        assert_eq!(parse_stage("open"), None);
    }
}
