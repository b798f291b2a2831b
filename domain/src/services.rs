//! What the aggregates need from outside, handed to cqrs-es as their `Services`: the clock, the
//! plan catalog and the dunning policy. Nothing here does IO.

use std::sync::Arc;

use crate::catalog::PlanCatalog;
use crate::clock::Clock;
use crate::dunning::DunningPolicy;

#[derive(Clone)]
pub struct BillingServices {
    pub clock: Arc<dyn Clock>,
    pub catalog: Arc<PlanCatalog>,
    pub dunning: DunningPolicy,
}

impl BillingServices {
    pub fn new(clock: Arc<dyn Clock>, catalog: Arc<PlanCatalog>, dunning: DunningPolicy) -> Self {
        Self {
            clock,
            catalog,
            dunning,
        }
    }
}
