//! Read models and their checkpointed projectors (SPEC section 5). The first ones arrive with the event log.
