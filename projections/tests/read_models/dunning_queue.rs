//! The Dunning Work Queue lists the open cases that need support: a hard decline (escalated at
//! once) and a suspended case; a retrying case only once its retries are exhausted; recovered and
//! resolved cases leave. Sorted by amount and by age with ties by case id, filtered by stage, in
//! pages; days in dunning and the next action are as of the clock.

use chrono::Duration;
use domain::dunning::{DunningCommand, DunningStage};
use domain::Clock;
use infrastructure::testing::Backend;
use projections::dunning_queue::{NextAction, QueueItemView};
use projections::{Projections, QueueCursor, QueueQuery, QueueSort};
use uuid::Uuid;

use crate::fixtures::*;

fn query(stage: Option<DunningStage>, sort: QueueSort) -> QueueQuery {
    QueueQuery { stage, sort }
}

/// The whole queue, read page by page (`limit` per page).
async fn pages(h: &Harness, query: QueueQuery, limit: u32) -> Vec<Vec<QueueItemView>> {
    let models = h.read_models();
    let mut pages = Vec::new();
    let mut cursor: Option<QueueCursor> = None;
    loop {
        let page = models
            .dunning_queue(query, limit, cursor.as_ref(), h.clock.now())
            .await
            .unwrap();
        pages.push(page.items);
        match page.next_cursor {
            Some(next) => {
                cursor = Some(QueueCursor::parse(&next, query.sort).expect("a cursor it issued"))
            }
            None => return pages,
        }
    }
}

async fn queue(h: &Harness, query: QueueQuery) -> Vec<Uuid> {
    let items = pages(h, query, 100).await.concat();
    items.iter().map(|item| item.case_id).collect()
}

async fn caught_up(projections: &Projections, position: Option<i64>) {
    let position = position.expect("the command appended");
    projections.wait_for(position, PATIENCE).await.unwrap();
}

fn retry_failed() -> DunningCommand {
    DunningCommand::RecordRetryOutcome {
        succeeded: false,
        failure_reason: Some("insufficient_funds".into()),
    }
}

async fn cases_needing_support_are_queued_sorted_and_filtered(backend: Backend) {
    let h = Harness::new(backend).await;
    let projections = h.start(options(500));
    let day = Duration::days(1);

    // Day 0: a case whose window will expire. Day 1: a hard decline. Day 2: a retrying case of
    // the same amount (a tie on amount). Two more hard declines that will close.
    let (suspended, _) = h
        .start_dunning("acct_q_suspended", None, Uuid::new_v4(), 9900, false)
        .await;
    h.clock.advance(day);
    let (hard, _) = h
        .start_dunning("acct_q_hard", None, Uuid::new_v4(), 4900, true)
        .await;
    h.clock.advance(day);
    let (retrying, _) = h
        .start_dunning("acct_q_retrying", None, Uuid::new_v4(), 4900, false)
        .await;
    let (recovered, _) = h
        .start_dunning("acct_q_recovered", None, Uuid::new_v4(), 100, true)
        .await;
    let (resolved, position) = h
        .start_dunning("acct_q_resolved", None, Uuid::new_v4(), 200, true)
        .await;
    caught_up(&projections, Some(position)).await;
    let all_ages = query(None, QueueSort::Age);
    // Both started on day 2: ties by case id.
    let mut same_day = [recovered, resolved];
    same_day.sort();
    assert_eq!(
        queue(&h, all_ages).await,
        [hard, same_day[0], same_day[1]],
        "hard declines are queued; retrying cases are not"
    );

    h.dunning(recovered, DunningCommand::Recover).await;
    let resolve = DunningCommand::ResolveManually {
        resolution: "paid by bank transfer".into(),
    };
    let position = h.dunning(resolved, resolve).await;
    caught_up(&projections, position).await;
    assert_eq!(queue(&h, all_ages).await, [hard], "closed cases leave");

    for _ in 0..3 {
        h.dunning(retrying, retry_failed()).await;
    }
    let position = h.dunning(retrying, retry_failed()).await;
    caught_up(&projections, position).await;
    assert_eq!(
        queue(&h, all_ages).await,
        [hard, retrying],
        "a case whose every retry failed is queued"
    );
    // Its retries ran early (the clock did not move), so their scheduled times are still ahead:
    // none of them is its next action any more.
    let items = pages(&h, all_ages, 100).await.concat();
    let exhausted = items.iter().find(|item| item.case_id == retrying).unwrap();
    assert_eq!(
        exhausted.next_action.as_ref().map(|action| action.kind),
        Some("suspension"),
        "every retry ran: {exhausted:?}"
    );

    h.clock.advance(Duration::days(13));
    h.dunning(suspended, DunningCommand::MarkSuspended).await;
    let assign = DunningCommand::Assign {
        agent: "alice".into(),
    };
    let position = h.dunning(hard, assign).await;
    caught_up(&projections, position).await;

    assert_eq!(
        queue(&h, all_ages).await,
        [suspended, hard, retrying],
        "oldest first"
    );
    let mut tie = [hard, retrying];
    tie.sort();
    assert_eq!(
        queue(&h, query(None, QueueSort::Amount)).await,
        [suspended, tie[0], tie[1]],
        "largest amount first, ties by case id"
    );
    assert_eq!(
        queue(&h, query(Some(DunningStage::Suspended), QueueSort::Age)).await,
        [suspended]
    );
    assert_eq!(
        queue(&h, query(Some(DunningStage::Escalated), QueueSort::Amount)).await,
        tie
    );
    assert!(
        queue(&h, query(Some(DunningStage::Retrying), QueueSort::Age))
            .await
            .is_empty()
    );

    // Pages of one hold each case once, in the same order, for both sorts.
    for sort in [QueueSort::Amount, QueueSort::Age] {
        let paged = pages(&h, query(None, sort), 1).await;
        assert_eq!(paged.len(), 3, "{sort:?}");
        let ids: Vec<Uuid> = paged.concat().iter().map(|item| item.case_id).collect();
        assert_eq!(ids, queue(&h, query(None, sort)).await);
    }

    // Day 15 for the suspended case, 14 for the hard decline, 13 for the exhausted retries.
    let items = pages(&h, all_ages, 100).await.concat();
    let days: Vec<i64> = items.iter().map(|item| item.days_in_dunning).collect();
    assert_eq!(days, [15, 14, 13]);
    let (first, second, third) = (&items[0], &items[1], &items[2]);
    assert_eq!(
        (
            first.stage.as_str(),
            first.amount_due,
            first.currency.as_str()
        ),
        ("suspended", 9900, "usd")
    );
    assert_eq!(first.account_id, "acct_q_suspended");
    assert_eq!(
        first.next_action,
        Some(NextAction {
            kind: "cancellation",
            at: first.cancel_at
        }),
        "a suspended case waits for its cancellation"
    );
    assert_eq!(second.assigned_agent.as_deref(), Some("alice"));
    assert_eq!(second.last_failure_reason, "Your card was declined.");
    assert_eq!(
        second.next_action.as_ref().map(|action| action.kind),
        Some("suspension"),
        "a hard decline schedules no retry: its window comes next"
    );
    assert_eq!(third.last_failure_reason, "insufficient_funds");
    assert_eq!(
        third.next_action,
        Some(NextAction {
            kind: "suspension",
            at: third.window_expires_at
        })
    );
    projections.stop().await;
}

infrastructure::on_both_backends!(cases_needing_support_are_queued_sorted_and_filtered);
