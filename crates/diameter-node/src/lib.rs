//! The tokio shell around [`corelab_diameter`]'s sans-IO peer state machine.
#![forbid(unsafe_code)]
