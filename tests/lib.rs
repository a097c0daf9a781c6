//! Helpers for the scenario tests: start nodes, wait for them, talk to them.
