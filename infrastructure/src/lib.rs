//! Adapters behind the application's ports: the event store and the scheduler on Postgres or
//! SQLite, the plan catalog file, clocks and the sandbox payment gateway.

pub mod api_keys;
pub mod catalog_file;
pub mod changes;
mod claim_index;
pub mod clock;
pub mod consumers;
pub mod email;
pub mod events_sink;
pub mod idempotency;
pub mod portable;
pub mod sandbox_gateway;
mod scheduler;
mod secret;
pub mod store;
pub mod stripe;
#[cfg(feature = "test-support")]
pub mod test_stack;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod webhooks;

pub use catalog_file::{load_catalog, CatalogFileError};
pub use clock::SystemClock;
pub use sandbox_gateway::SandboxGateway;
pub use scheduler::TimerBacklog;
pub use secret::Secret;
pub use store::{LogHead, Store, StoreError, DEFAULT_DATABASE_URL};
pub use stripe::{StripeConfig, StripeGateway};
