//! The race of the security probe (issue #20, H2): a payment attempt and a payment recorded from
//! outside, or a void, on the same open invoice at once. Whoever wins, every charge the gateway
//! made is on the invoice's record; and a charge left in flight on an invoice that was paid
//! meanwhile (as an older version allowed) becomes an overpayment, refunded once.

use std::sync::Arc;
use std::time::Duration;

use application::event_log::{Append, EventLog, EventMetadata, NewEvent};
use application::payments::{
    ChargeOutcome, ChargeRequest, GatewayError, MethodCheck, MethodCheckRequest, PaymentGateway,
    RefundOutcome, RefundRequest,
};
use application::{refund_overpayment, DispatchError};
use async_trait::async_trait;
use chrono::Utc;
use cqrs_es::DomainEvent;
use domain::invoice::{Invoice, InvoiceCommand, InvoiceEvent, InvoiceStatus, OverpaymentRefund};
use domain::{DomainError, PaymentMethodToken, RuleViolation};
use infrastructure::testing::Backend;
use infrastructure::SandboxGateway;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::support::{context, t0, usd, Fixture};

/// Races per backend and per rival command.
const RACES: usize = 50;

/// Charges the sandbox; when `hold`, only once the test lets it, so that the rival command runs
/// while the attempt is certainly in flight.
struct Gate {
    sandbox: Arc<SandboxGateway>,
    hold: bool,
    charging: Notify,
    release: Notify,
}

#[async_trait]
impl PaymentGateway for Gate {
    async fn charge(&self, request: ChargeRequest) -> Result<ChargeOutcome, GatewayError> {
        if self.hold {
            self.charging.notify_one();
            self.release.notified().await;
        }
        self.sandbox.charge(request).await
    }

    async fn refund(&self, request: RefundRequest) -> Result<RefundOutcome, GatewayError> {
        self.sandbox.refund(request).await
    }

    async fn verify_payment_method(
        &self,
        request: MethodCheckRequest,
    ) -> Result<MethodCheck, GatewayError> {
        self.sandbox.verify_payment_method(request).await
    }
}

/// What raced the attempt.
#[derive(Debug, Clone, Copy)]
enum Rival {
    OutsidePayment,
    Void,
}

impl Rival {
    fn command(self, race: usize) -> InvoiceCommand {
        match self {
            Rival::OutsidePayment => InvoiceCommand::RecordPayment {
                amount: usd(3800),
                payment_ref: format!("ext_{race}"),
            },
            Rival::Void => InvoiceCommand::VoidInvoice,
        }
    }
}

/// The rule a refused command broke, if a rule refused it.
fn rule(error: &DispatchError<DomainError>) -> Option<&'static str> {
    match error {
        DispatchError::Rejected(DomainError::Rule(RuleViolation::Invoice(rule))) => {
            Some(rule.code())
        }
        _ => None,
    }
}

/// The payment refs of the successful charges the sandbox made for `invoice`.
fn charges_of(f: &Fixture, invoice: Uuid) -> Vec<String> {
    f.sandbox
        .charges()
        .into_iter()
        .filter(|c| c.request.payment_ref.starts_with(&invoice.to_string()))
        .filter(|c| matches!(c.outcome, ChargeOutcome::Succeeded { .. }))
        .map(|c| c.request.payment_ref)
        .collect()
}

/// The payment refs whose money the invoice's record accounts for.
fn recorded_refs(events: &[InvoiceEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|event| match event {
            InvoiceEvent::PaymentRecorded { payment_ref, .. }
            | InvoiceEvent::OverpaymentReceived { payment_ref, .. } => Some(payment_ref.clone()),
            _ => None,
        })
        .collect()
}

async fn race(backend: Backend, rival: Rival) {
    let f = Arc::new(Fixture::new(backend).await);
    let subscription = f.subscribe(Some("pm_card_visa")).await;
    let (mut attempt_won, mut in_flight, mut rival_won, mut unrecorded) = (0, 0, 0, 0);
    for race in 0..RACES {
        let invoice = f.invoice(Some(subscription)).await;
        // Every other race holds the charge until the rival has run; the rest start both at once,
        // the rival a little later each time, so the rival lands before, during and after.
        let gate = Arc::new(Gate {
            sandbox: f.sandbox.clone(),
            hold: race % 2 == 1,
            charging: Notify::new(),
            release: Notify::new(),
        });
        let attempt = {
            let (f, gate) = (f.clone(), gate.clone());
            tokio::spawn(async move { f.attempt(gate.as_ref(), invoice, None).await })
        };
        let other = {
            let (f, gate) = (f.clone(), gate.clone());
            tokio::spawn(async move {
                if gate.hold {
                    gate.charging.notified().await;
                } else {
                    let delay = (race as u64 * 373) % 4000;
                    tokio::time::sleep(Duration::from_micros(delay)).await;
                }
                let id = invoice.to_string();
                let command = rival.command(race);
                let outcome = f
                    .bus
                    .execute::<Invoice>(&id, command, &f.services, &context(None))
                    .await;
                gate.release.notify_one();
                outcome
            })
        };
        let (attempt, other) = (attempt.await.unwrap(), other.await.unwrap());
        let charged = charges_of(&f, invoice);
        match (&attempt, &other) {
            (Ok(_), Err(refused)) => {
                // Refused while the attempt was in flight, or after it paid the invoice.
                match rule(refused) {
                    Some("payment_in_flight") => in_flight += 1,
                    Some("invoice_not_payable" | "paid_invoice_cannot_be_voided") => {}
                    _ => panic!("race {race}: {refused:?}"),
                }
                attempt_won += 1;
            }
            (Err(application::AttemptPaymentError::Dispatch(refused)), Ok(_)) => {
                assert_eq!(rule(refused), Some("invoice_not_payable"), "{refused:?}");
                assert!(charged.is_empty(), "a refused attempt charged {charged:?}");
                rival_won += 1;
            }
            other => panic!("race {race}: unexpected outcomes {other:?}"),
        }
        let events = f.events(invoice).await;
        let recorded = recorded_refs(&events);
        unrecorded += charged.iter().filter(|r| !recorded.contains(r)).count();
        let state = f.load(invoice).await;
        assert!(state.attempt_in_flight().is_none(), "race {race}");
        let paid = state.amount_paid().map_or(0, |m| m.amount);
        assert!(
            paid <= 3800,
            "race {race}: {paid} paid on an invoice of 3800"
        );
    }
    println!(
        "{backend:?} {rival:?}: {RACES} races, attempt first {attempt_won} \
         ({in_flight} refused in flight), {rival:?} first {rival_won}, \
         unrecorded charges {unrecorded}"
    );
    assert_eq!(unrecorded, 0, "charges the log does not know about");
}

async fn an_outside_payment_racing_an_attempt_leaves_no_charge_unrecorded(backend: Backend) {
    race(backend, Rival::OutsidePayment).await;
}

async fn a_void_racing_an_attempt_leaves_no_charge_unrecorded(backend: Backend) {
    race(backend, Rival::Void).await;
}

/// Appends `events` to invoice `id` as they are, after `version`: the history an older version
/// of Ledgerline could write, which today's commands refuse to produce.
async fn append_as_stored(f: &Fixture, id: Uuid, version: i64, events: Vec<InvoiceEvent>) {
    let events = events
        .into_iter()
        .map(|event| NewEvent {
            event_type: event.event_type(),
            event_version: event.event_version(),
            payload: serde_json::to_value(&event).unwrap(),
            metadata: EventMetadata {
                event_id: Uuid::new_v4(),
                recorded_at: Utc::now(),
                actor: "test".into(),
                command: "RecordPayment".into(),
                correlation_id: "corr".into(),
                causation_id: "req".into(),
                idempotency_key: None,
            },
        })
        .collect();
    f.store
        .append(Append {
            aggregate_type: "invoice".into(),
            aggregate_id: id.to_string(),
            expected_version: version,
            events,
            snapshot: None,
            command: None,
            claims: Default::default(),
        })
        .await
        .unwrap();
}

/// The probe's stuck invoice: the gateway charged attempt 1, an outside payment paid the invoice
/// before the charge was recorded, and every later run was refused. Now the resumed attempt
/// records the charge as an overpayment, and the refund gives it back exactly once.
async fn a_charge_stuck_on_a_paid_invoice_is_recorded_and_refunded_once(backend: Backend) {
    let f = Fixture::new(backend).await;
    let subscription = f.subscribe(Some("pm_card_visa")).await;
    let invoice = f.invoice(Some(subscription)).await;
    let visa = PaymentMethodToken::parse("pm_card_visa").unwrap();
    f.invoice_command(
        invoice,
        InvoiceCommand::AttemptPayment {
            payment_method: visa,
        },
    )
    .await;
    let paid_outside = vec![
        InvoiceEvent::PaymentRecorded {
            amount: usd(3800),
            payment_ref: "ext_1".into(),
            amount_paid: usd(3800),
            at: t0(),
        },
        InvoiceEvent::InvoicePaid {
            amount_paid: usd(3800),
            at: t0(),
        },
    ];
    append_as_stored(&f, invoice, 2, paid_outside).await;

    let resumed = f.attempt(f.sandbox.as_ref(), invoice, None).await.unwrap();
    let payment_ref = format!("{invoice}:attempt:1");
    assert_eq!(resumed.payment_ref, payment_ref);
    let state = f.load(invoice).await;
    assert_eq!(state.attempt_in_flight(), None);
    assert_eq!(state.amount_paid(), Some(&usd(3800)));
    assert_eq!(
        state.overpayment(&payment_ref).map(|o| o.refund),
        Some(OverpaymentRefund::Pending)
    );
    assert_eq!(state.status(), Some(InvoiceStatus::Paid));

    for _ in 0..2 {
        refund_overpayment(
            &f.bus,
            f.sandbox.as_ref(),
            &f.services,
            invoice,
            &payment_ref,
            &context(None),
        )
        .await
        .unwrap();
    }
    let refunds: Vec<_> = f.sandbox.refunds();
    assert_eq!(refunds.len(), 1, "one refund for one overpayment");
    assert!(matches!(refunds[0].outcome, RefundOutcome::Refunded { .. }));
    assert_eq!(refunds[0].request.amount, usd(3800));
    assert_eq!(refunds[0].request.payment_ref, payment_ref);
    let refunded = f.events(invoice).await;
    let kinds: Vec<_> = refunded.iter().map(DomainEvent::event_type).collect();
    assert_eq!(
        kinds[kinds.len() - 2..],
        ["OverpaymentReceived", "OverpaymentRefunded"]
    );
    assert_eq!(
        f.load(invoice)
            .await
            .overpayment(&payment_ref)
            .map(|o| o.refund),
        Some(OverpaymentRefund::Refunded)
    );
}

infrastructure::on_both_backends!(
    an_outside_payment_racing_an_attempt_leaves_no_charge_unrecorded,
    a_void_racing_an_attempt_leaves_no_charge_unrecorded,
    a_charge_stuck_on_a_paid_invoice_is_recorded_and_refunded_once,
);
