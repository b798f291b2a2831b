//! The REST resources that are rendered from an aggregate's state rather than a read model's
//! rows: the subscription, a coupon, the dunning case, the account's feature list, a webhook
//! endpoint and an account's credit balance. The HTTP layer answers with them, and the
//! integration events (SPEC 9.1) carry the same rendering as their `object`, so a webhook
//! receiver sees exactly what `GET` would have shown at that position.

mod coupon;
mod customer_balance;
mod dunning_case;
mod features;
mod subscription;
mod webhook_endpoint;

pub use coupon::{CouponView, DiscountView};
pub use customer_balance::CustomerBalanceView;
pub use dunning_case::DunningCaseView;
pub use features::FeatureList;
pub use subscription::{ScheduledChangeView, SubscriptionView};
pub use webhook_endpoint::EndpointView;
