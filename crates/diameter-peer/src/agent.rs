//! `diameter-peer agent`: a Diameter relay, proxy or redirect agent (RFC 6733
//! §2.8) on the node library: relay/proxy forward by Destination-Realm (and
//! application) with Route-Record and 3005 loop detection; redirect answers
//! 3006 with Redirect-Host and Redirect-Host-Usage; 3002/3003 when a request
//! cannot be delivered. Requests addressed to the agent itself get 2001.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use corelab_diameter::Dictionary;
use corelab_diameter_node::{AgentMode, Node, PeerTarget, RedirectHostUsage, RoutingTable};
use tracing::info;

use crate::cli::{Common, Exit, SERVER_APPS, resolve, terminated};
use crate::files::application_by_name;
use crate::print;
use crate::responder::{Handler, Output, Responder};

/// Agent kind (RFC 6733 §2.8).
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Mode {
    /// Relay: forwards, advertises the relay application 0xffffffff.
    Relay,
    /// Proxy: forwards, advertises its own applications (--app).
    Proxy,
    /// Redirect: answers 3006 with the route's peer as Redirect-Host.
    Redirect,
}

/// Relay, proxy or redirect requests.
#[derive(Args, Debug)]
pub struct AgentArgs {
    #[command(flatten)]
    common: Common,
    /// Where to listen (port 0: any free port; the bound address is printed).
    #[arg(long, value_name = "HOST:PORT")]
    listen: String,
    /// relay, proxy or redirect.
    #[arg(long, value_enum)]
    mode: Mode,
    /// REALM[:APP]=[ORIGIN-HOST@]HOST:PORT — next hop for a Destination-Realm
    /// (and application: name or id); repeatable, first listed first tried.
    #[arg(long, value_name = "REALM[:APP]=HOST:PORT")]
    route: Vec<String>,
    /// [ORIGIN-HOST@]HOST:PORT — next hop for realms no --route names.
    #[arg(long, value_name = "HOST:PORT")]
    default_route: Option<String>,
    /// Redirect-Host-Usage in 3006 answers (RFC 6733 §6.13): DONT_CACHE,
    /// ALL_SESSION, ALL_REALM, REALM_AND_APPLICATION, ALL_APPLICATION, ALL_HOST,
    /// ALL_USER or the number.
    #[arg(long, value_name = "USAGE", default_value = "REALM_AND_APPLICATION")]
    redirect_usage: String,
    /// Redirect-Max-Cache-Time in 3006 answers, seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    redirect_max_cache_secs: u64,
}

/// `[ORIGIN-HOST@]HOST:PORT`.
async fn target(s: &str) -> anyhow::Result<PeerTarget> {
    match s.split_once('@') {
        Some((host, addr)) => Ok(PeerTarget::host(host, resolve(addr).await?)),
        None => Ok(PeerTarget::addr(resolve(s).await?)),
    }
}

/// `REALM[:APP]=TARGET` → (realm, application, target text).
pub fn parse_route(s: &str) -> anyhow::Result<(String, Option<u32>, String)> {
    let (key, to) = s
        .split_once('=')
        .with_context(|| format!("--route {s:?}: expected REALM[:APP]=HOST:PORT"))?;
    let (realm, app) = match key.split_once(':') {
        Some((r, a)) => {
            let id = application_by_name(Dictionary::standard(), a)
                .with_context(|| format!("--route {s:?}: unknown application {a:?}"))?;
            (r, Some(id))
        }
        None => (key, None),
    };
    if realm.is_empty() || to.is_empty() {
        bail!("--route {s:?}: expected REALM[:APP]=HOST:PORT");
    }
    Ok((realm.to_string(), app, to.to_string()))
}

fn redirect_usage(s: &str) -> anyhow::Result<RedirectHostUsage> {
    let v = match s.parse::<i32>() {
        Ok(n) => n,
        Err(_) => Dictionary::standard()
            .avp_by_name("Redirect-Host-Usage")
            .and_then(|d| d.enum_value(&s.to_ascii_uppercase()))
            .and_then(|v| i32::try_from(v).ok())
            .with_context(|| format!("--redirect-usage {s:?}: not a Redirect-Host-Usage"))?,
    };
    if !(0..=6).contains(&v) {
        bail!("--redirect-usage {s:?}: not a Redirect-Host-Usage (0..=6)");
    }
    Ok(RedirectHostUsage::from_i32(v))
}

impl AgentArgs {
    /// The options shared by every subcommand.
    pub fn common(&self) -> &Common {
        &self.common
    }
}

/// Runs the agent until SIGINT/SIGTERM.
pub async fn run(args: AgentArgs) -> anyhow::Result<Exit> {
    let c = &args.common;
    let mut cfg = c.node_config(c.application_ids(&SERVER_APPS)?)?;
    cfg.mode = match args.mode {
        Mode::Relay => AgentMode::Relay,
        Mode::Proxy => AgentMode::Proxy,
        Mode::Redirect => AgentMode::Redirect,
    };
    let mut routes = RoutingTable::new();
    for r in &args.route {
        let (realm, app, to) = parse_route(r)?;
        routes.add_route(
            &realm,
            app,
            target(&to)
                .await
                .with_context(|| format!("--route {r:?}"))?,
        );
    }
    if let Some(d) = &args.default_route {
        routes = routes.default_route(target(d).await.context("--default-route")?);
    }
    if routes.realms.is_empty() && routes.default.is_empty() {
        bail!("agent: give at least one --route or --default-route");
    }
    cfg.routes = routes;
    cfg.redirect.usage = redirect_usage(&args.redirect_usage)?;
    cfg.redirect.max_cache_time = Duration::from_secs(args.redirect_max_cache_secs);
    let responder = Responder::new(
        Vec::new(),
        Vec::new(),
        &c.origin_host,
        &c.origin_realm,
        if c.verbose {
            Output::Full
        } else {
            Output::Lines
        },
        c.validation(),
    );
    let node = Node::new(cfg, Arc::new(Handler(responder)));
    let addr = resolve(&args.listen).await?;
    let bound = match node.listen(addr).await {
        Ok(a) => a,
        Err(e) => {
            print::out(&format!("!! cannot listen on {addr}: {e}"));
            return Ok(Exit::Error);
        }
    };
    info!(mode = ?args.mode, "agent ready");
    print::out(&format!("listening on {bound}"));
    terminated().await;
    info!("signal: stopping");
    node.shutdown().await;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_realm_application_and_target() {
        assert_eq!(
            parse_route("home.example:gx=hpcrf@127.0.0.1:3868").unwrap(),
            (
                "home.example".into(),
                Some(16_777_238),
                "hpcrf@127.0.0.1:3868".into()
            )
        );
        assert_eq!(
            parse_route("home.example=127.0.0.1:3868").unwrap(),
            ("home.example".into(), None, "127.0.0.1:3868".into())
        );
        assert!(parse_route("home.example").is_err());
        assert!(parse_route("home.example:gy=127.0.0.1:1").is_err());
        assert_eq!(
            redirect_usage("ALL_SESSION").unwrap(),
            RedirectHostUsage::AllSession
        );
        assert_eq!(redirect_usage("0").unwrap(), RedirectHostUsage::DontCache);
        assert!(redirect_usage("7").is_err());
    }
}
