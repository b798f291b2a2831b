//! `Batched<A>`: a real domain aggregate whose one command is a list of its own commands, so that
//! a single bus command appends several of its real events. The snapshot tests need commands of
//! 1 to N events to cross snapshot boundaries at every offset; the billing aggregates decide one
//! event per command.
//!
//! Serialised exactly as `A` and stored under `A::TYPE`, so its streams and snapshots are `A`'s.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Batched<A>(pub A);

/// The commands of one batch, decided in order, each on the state the previous ones left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Batch<C> {
    Batch(Vec<C>),
}

impl<A> Aggregate for Batched<A>
where
    A: Aggregate + Clone,
    A::Command: Send,
{
    const TYPE: &'static str = A::TYPE;
    type Command = Batch<A::Command>;
    type Event = A::Event;
    type Error = A::Error;
    type Services = A::Services;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let Batch::Batch(commands) = command;
        for command in commands {
            // `A::handle` applies what it decides to the state it is given; decide on a copy and
            // let `sink.write` apply each event to `self` exactly once.
            let decided = EventSink::default();
            self.0.clone().handle(command, services, &decided).await?;
            for event in decided.collect().await {
                sink.write(event, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.0.apply(event);
    }
}

impl<A> application::claims::UniqueClaim for Batched<A>
where
    A: application::claims::UniqueClaim + Clone,
    A::Command: Send,
{
    fn unique_claim(&self) -> Option<String> {
        self.0.unique_claim()
    }
}
