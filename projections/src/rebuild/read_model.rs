//! A read model's projector behind one type, with a way to make fresh ones: the runtime runs one,
//! and rebuilds, verification and `ledgerline replay` each replay the log with another, for any
//! projector alike.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use application::event_log::StoredEvent;

use infrastructure::consumers::ProjectionError;
use infrastructure::consumers::Projector;
use infrastructure::portable::Tx;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`Projector`] in a form that can be boxed (its `apply_batch` returns a boxed future).
trait DynProjector: Send + Sync {
    fn name(&self) -> &'static str;
    fn listens_to(&self) -> &'static [&'static str];
    fn tables(&self) -> &'static [&'static str];
    fn change_topic(&self) -> Option<&'static str>;
    fn apply_batch_boxed<'a>(
        &'a self,
        tx: &'a mut Tx,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>>;
}

impl<P: Projector> DynProjector for P {
    fn name(&self) -> &'static str {
        Projector::name(self)
    }

    fn listens_to(&self) -> &'static [&'static str] {
        Projector::listens_to(self)
    }

    fn tables(&self) -> &'static [&'static str] {
        Projector::tables(self)
    }

    fn change_topic(&self) -> Option<&'static str> {
        Projector::change_topic(self)
    }

    fn apply_batch_boxed<'a>(
        &'a self,
        tx: &'a mut Tx,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(self.apply_batch(tx, events))
    }
}

/// One projector instance made by a [`ReadModelProjector`]; a [`Projector`] itself.
pub struct FreshProjector(Box<dyn DynProjector>);

impl Projector for FreshProjector {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn listens_to(&self) -> &'static [&'static str] {
        self.0.listens_to()
    }

    fn tables(&self) -> &'static [&'static str] {
        self.0.tables()
    }

    fn change_topic(&self) -> Option<&'static str> {
        self.0.change_topic()
    }

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        self.0.apply_batch_boxed(tx, events).await
    }
}

/// A read model's projector: its name, its tables, and fresh instances on demand.
#[derive(Clone)]
pub struct ReadModelProjector {
    name: &'static str,
    tables: &'static [&'static str],
    change_topic: Option<&'static str>,
    make: Arc<dyn Fn() -> FreshProjector + Send + Sync>,
}

impl ReadModelProjector {
    /// `make` builds a projector in its initial state each time it is called.
    pub fn new<P: Projector>(make: impl Fn() -> P + Send + Sync + 'static) -> Self {
        let sample = make();
        Self {
            name: sample.name(),
            tables: sample.tables(),
            change_topic: sample.change_topic(),
            make: Arc::new(move || FreshProjector(Box::new(make()))),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn tables(&self) -> &'static [&'static str] {
        self.tables
    }

    /// See [`Projector::change_topic`].
    pub fn change_topic(&self) -> Option<&'static str> {
        self.change_topic
    }

    pub fn fresh(&self) -> FreshProjector {
        (self.make)()
    }
}

impl std::fmt::Debug for ReadModelProjector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadModelProjector")
            .field("name", &self.name)
            .field("tables", &self.tables)
            .finish()
    }
}
