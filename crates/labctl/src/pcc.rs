//! `pcc-emulator serve` as a child process and its gRPC control client (PCEF, BBERF and AF
//! sessions on command, docs/pcc-emulator.md): `labctl demo dra` and `labctl probe dra` drive
//! their client side with it.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use corelab_proto::pcc::v1 as pb;
use corelab_proto::pcc::v1::pcc_control_client::PccControlClient;
use tokio::process::{Child, Command};

use crate::node::bin_path;
use crate::wait::until;

/// A running `pcc-emulator serve`.
pub struct PccClient {
    child: Child,
    pub control: PccControlClient<tonic::transport::Channel>,
}

impl PccClient {
    /// `pcc-emulator serve <args>` (connection options, e.g. [`crate::dra::connection_to`]),
    /// stdout to `<dir>/client.out` (a line per message), stderr to `<dir>/client.log`, with
    /// `RUST_LOG = log_filter` when given; waits for its control service.
    pub async fn start(
        dir: &Path,
        args: &[String],
        log_filter: Option<&str>,
    ) -> anyhow::Result<PccClient> {
        let out = dir.join("client.out");
        let mut command = Command::new(bin_path("pcc-emulator")?);
        command.arg("serve").args(args);
        if let Some(filter) = log_filter {
            command.env("RUST_LOG", filter);
        }
        let mut child = command
            .stdout(std::fs::File::create(&out)?)
            .stderr(std::fs::File::create(dir.join("client.log"))?)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let listening = until(Duration::from_secs(20), "pcc-emulator serve", || {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            let exited = matches!(child.try_wait(), Ok(Some(_)));
            async move {
                match text
                    .lines()
                    .find_map(|l| l.strip_prefix("control listening on "))
                {
                    Some(a) => Some(Ok(a.trim().to_string())),
                    None if exited => Some(Err(())),
                    None => None,
                }
            }
        })
        .await?;
        let Ok(addr) = listening else {
            let log = std::fs::read_to_string(dir.join("client.log")).unwrap_or_default();
            anyhow::bail!("pcc-emulator serve exited: {}", log.trim());
        };
        let control = PccControlClient::connect(format!("http://{addr}")).await?;
        Ok(PccClient { child, control })
    }

    /// CCR-I (`pcef`, `bberf`) or AAR (`af`) for a new session of the UE: (Session-Id,
    /// Result-Code; 0 when no answer came).
    pub async fn establish(
        &mut self,
        role: &str,
        nai: &str,
        ip: &str,
    ) -> anyhow::Result<(String, u32)> {
        let r = self
            .control
            .establish(pb::EstablishRequest {
                role: role.into(),
                ue: Some(pb::Ue {
                    nai: nai.into(),
                    ip: ip.into(),
                    apn: "internet".into(),
                }),
                target: String::new(),
            })
            .await?
            .into_inner();
        Ok((r.session_id, r.result_code))
    }

    /// CCR-T or STR of the session, routed as the mode says: its Result-Code (0: no answer).
    pub async fn terminate(&mut self, session_id: &str) -> anyhow::Result<u32> {
        Ok(self
            .control
            .terminate(pb::SessionRequest {
                session_id: session_id.into(),
                target: String::new(),
                ordering: String::new(),
            })
            .await?
            .into_inner()
            .result_code)
    }

    /// SIGTERM (it sends DPR), then wait (SIGKILL after 5 s).
    pub async fn stop(mut self) {
        let _ = crate::node::terminate(&mut self.child).await;
    }
}
