//! Ports (traits the infrastructure implements) and use cases that span aggregates.
pub use domain::Clock;
