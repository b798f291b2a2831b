//! Customer balances written in batches: adjustments, credits and payments of invoices from the
//! balance of two accounts give the same balances and transactions whether the log is applied in
//! one batch or one event per batch, page by position, and verify against a replay.

use domain::customer_balance::{CreditSource, CustomerBalance, CustomerBalanceCommand};
use infrastructure::testing::Backend;
use projections::customer_balance::BalanceTransactionView;
use projections::rebuild::verify;
use projections::{read_model_projectors, BalanceStatement, PositionCursor};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::*;

fn adjust(account_id: &str, amount: i64, reason: &str) -> CustomerBalanceCommand {
    CustomerBalanceCommand::AdjustBalance {
        account_id: account(account_id),
        amount: money(amount, "usd"),
        reason: reason.into(),
        adjustment_id: Uuid::new_v4(),
    }
}

/// `acct_a`: +500, a credit note of 250, an invoice of 600 paid from it, -100 (refused: it
/// would go below zero), -150. `acct_b`: +70. Returns the invoice and the last position.
async fn history(h: &Harness) -> (Uuid, i64) {
    let invoice = Uuid::from_u128(7);
    let commands = [
        ("acct_a", adjust("acct_a", 500, "goodwill")),
        (
            "acct_a",
            CustomerBalanceCommand::CreditBalance {
                account_id: account("acct_a"),
                amount: money(250, "usd"),
                source: CreditSource::CreditNote {
                    credit_note_id: Uuid::from_u128(1),
                    invoice_id: Uuid::from_u128(2),
                },
            },
        ),
        ("acct_b", adjust("acct_b", 70, "welcome")),
        (
            "acct_a",
            CustomerBalanceCommand::ApplyBalanceToInvoice {
                account_id: account("acct_a"),
                invoice_id: invoice,
                amount_due: money(600, "usd"),
            },
        ),
        ("acct_a", adjust("acct_a", -200, "too much")),
        ("acct_a", adjust("acct_a", -150, "corrected")),
    ];
    let mut last = 0;
    for (id, command) in commands {
        if let Some(position) = h.try_execute::<CustomerBalance>(id, command).await {
            last = position;
        }
    }
    (invoice, last)
}

async fn statement(h: &Harness, account_id: &str) -> BalanceStatement {
    h.read_models()
        .balance(&account(account_id), 100, None)
        .await
        .unwrap()
}

fn moves(statement: &BalanceStatement) -> Vec<(&str, i64, i64)> {
    let items = &statement.transactions.items;
    items
        .iter()
        .map(|t: &BalanceTransactionView| (t.kind.as_str(), t.amount, t.balance_after))
        .collect()
}

async fn every_batch_split_writes_the_same_balances(backend: Backend) {
    let mut answers = Vec::new();
    for batch_size in [100, 1] {
        let h = Harness::new(backend).await;
        let (invoice, last) = history(&h).await;
        let projections = h.start(options(batch_size));
        projections.wait_for(last, PATIENCE).await.unwrap();

        let a = statement(&h, "acct_a").await;
        assert_eq!(
            (a.balance.amount, a.balance.currency.as_deref()),
            (0, Some("usd"))
        );
        assert_eq!(
            moves(&a),
            vec![
                ("adjustment", 500, 500),
                ("credit", 250, 750),
                ("invoice_payment", -600, 150),
                ("adjustment", -150, 0),
            ]
        );
        let items = &a.transactions.items;
        assert_eq!(items[0].reason.as_deref(), Some("goodwill"));
        assert_eq!(
            items[1].source,
            Some(
                json!({"kind": "credit_note", "credit_note_id": Uuid::from_u128(1),
                        "invoice_id": Uuid::from_u128(2)})
            )
        );
        assert_eq!(items[2].invoice_id, Some(invoice));
        assert_eq!(items[3].position, last);

        // Pages of one, by position.
        let models = h.read_models();
        let first = models.balance(&account("acct_a"), 1, None).await.unwrap();
        let cursor = first
            .transactions
            .next_cursor
            .as_deref()
            .map(PositionCursor::parse);
        let cursor = cursor.flatten().expect("a cursor");
        let second = models
            .balance(&account("acct_a"), 1, Some(cursor))
            .await
            .unwrap();
        assert_eq!(moves(&second), vec![("credit", 250, 750)]);

        let b = statement(&h, "acct_b").await;
        assert_eq!(b.balance.amount, 70);
        let none = statement(&h, "acct_none").await;
        assert_eq!((none.balance.amount, none.balance.currency), (0, None));
        assert!(none.transactions.items.is_empty() && none.updated_at.is_none());

        let report = verify(&h.store, &read_model_projectors(h.catalog.clone()))
            .await
            .unwrap();
        assert_eq!(report.mismatches, 0, "{report:#?}");
        projections.stop().await;
        answers.push((a, b));
    }
    let without_ids = |(a, b): &(BalanceStatement, BalanceStatement)| {
        (
            moves(a)
                .iter()
                .map(|m| (m.0.to_owned(), m.1, m.2))
                .collect::<Vec<_>>(),
            b.balance.clone(),
        )
    };
    assert_eq!(without_ids(&answers[0]), without_ids(&answers[1]));
}

infrastructure::on_both_backends!(every_batch_split_writes_the_same_balances);
