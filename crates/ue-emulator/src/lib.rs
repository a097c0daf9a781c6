//! ue-emulator: emulated user equipment. The 5G UEs of the MBS scenario ([`fivegs`]: NAS-5GS over
//! the N1 link, one gNB per process), and the IMS client of the presence scenario — it
//! registers, subscribes to its buddies, answers NOTIFYs (with fault injection), re-subscribes
//! when the server's subscription-failure MESSAGE arrives, and publishes its own presence.

pub mod control;
pub mod fivegs;
pub mod ims;
pub mod poc;
pub mod step_flag;
