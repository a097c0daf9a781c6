//! An MBS lab (issue 12 §5): session-manager and ue-emulator (5G mode, one gNB per process) as
//! real processes on loopback, on any store URL, driven over their gRPC control services. The
//! scenario tests (`tests/tests/mbs_*.rs`, through `tests/mbs_lab.rs`) and `labctl demo mbs` use it.

use std::time::Duration;

use corelab_proto::n1::v1::Tmgi;
use corelab_proto::session::v1 as sm;
use corelab_proto::session::v1::session_control_client::SessionControlClient;
use corelab_proto::ue::v1 as ue;
use corelab_proto::ue::v1::five_gs_control_client::FiveGsControlClient;
use tonic::transport::Channel;

use crate::node::{Node, bin_path, free_port};
use crate::wait::until;

/// A gNB's control client (ue-emulator 5G mode).
pub type Gnb = FiveGsControlClient<Channel>;

/// session-manager's paging period in the lab: short, so "paging goes on" shows quickly.
pub const PAGING_INTERVAL_MS: u64 = 100;

/// A running MBS lab.
pub struct MbsLab {
    pub dir: tempfile::TempDir,
    pub store_url: String,
    /// session-manager's gRPC (control and N1) address, kept across restarts.
    pub grpc_listen: String,
    /// session-manager's flags beyond the lab's.
    pub sm_args: Vec<String>,
    pub session_manager: Option<Node>,
    pub gnbs: Vec<Node>,
}

impl MbsLab {
    /// Start session-manager on the store at `store_url`, keeping its files in `dir`, with
    /// `config` as its TOML file (empty: none; e.g. its own `[[mbs.sessions]]`, which replace
    /// the lab's default TMGIs) and `sm_args` (e.g. `--qfi-lists false`).
    pub async fn start_on(
        dir: tempfile::TempDir,
        store_url: String,
        config: &str,
        sm_args: &[&str],
    ) -> anyhow::Result<MbsLab> {
        let mut sm_args: Vec<String> = sm_args.iter().map(|s| s.to_string()).collect();
        if !config.is_empty() {
            let path = dir.path().join("session-manager.toml");
            std::fs::write(&path, config)?;
            sm_args.extend(["--config".to_string(), path.display().to_string()]);
        }
        let mut lab = MbsLab {
            store_url,
            grpc_listen: format!("127.0.0.1:{}", free_port()?),
            sm_args,
            session_manager: None,
            gnbs: Vec::new(),
            dir,
        };
        lab.start_session_manager().await?;
        Ok(lab)
    }

    /// Start session-manager (again) on the lab's store and address.
    pub async fn start_session_manager(&mut self) -> anyhow::Result<()> {
        let mut args = vec![
            "--store-url".to_string(),
            self.store_url.clone(),
            "--paging-interval-ms".to_string(),
            PAGING_INTERVAL_MS.to_string(),
        ];
        args.extend(self.sm_args.iter().cloned());
        let node = Node::start_with_grpc(
            "session-manager",
            &bin_path("session-manager")?,
            &args,
            self.dir.path(),
            false,
            &self.grpc_listen,
        )
        .await?;
        self.session_manager = Some(node);
        Ok(())
    }

    /// Stop session-manager (SIGTERM) and start it again on the same store and address.
    pub async fn restart_session_manager(&mut self) -> anyhow::Result<()> {
        if let Some(node) = self.session_manager.take() {
            node.stop().await?;
        }
        self.start_session_manager().await
    }

    /// session-manager's control client.
    pub async fn control(&self) -> anyhow::Result<SessionControlClient<Channel>> {
        Ok(SessionControlClient::connect(format!("http://{}", self.grpc_listen)).await?)
    }

    /// Start a gNB (`ue-emulator 5g`) named `name` attached to session-manager, with `args`
    /// (e.g. `--ues 2`, `--qfi-lists false`).
    pub async fn gnb(&mut self, name: &str, args: &[&str]) -> anyhow::Result<Gnb> {
        let mut all: Vec<String> = vec![
            "5g".into(),
            "--n1".into(),
            format!("http://{}", self.grpc_listen),
            "--gnb-name".into(),
            name.into(),
            "--reconnect-ms".into(),
            "100".into(),
        ];
        all.extend(args.iter().map(|s| s.to_string()));
        let node = Node::start(
            name,
            &bin_path("ue-emulator")?,
            &all,
            self.dir.path(),
            false,
        )
        .await?;
        let client = FiveGsControlClient::connect(node.grpc_uri()).await?;
        self.gnbs.push(node);
        Ok(client)
    }

    /// session-manager's log so far (for failure messages).
    pub fn session_manager_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("session-manager.log")).unwrap_or_default()
    }
}

/// The SUPI of UE `index` of a gNB with the default PLMN and first MSIN.
pub fn supi(index: u32) -> String {
    format!("imsi-00101{:010}", index + 1)
}

/// The TMGI of MBS service ID `id` in the serving PLMN (the lab's defaults: 1 with QFI 5, 2 with
/// QFIs 6 and 7).
pub fn tmgi(id: u32) -> Tmgi {
    Tmgi {
        mbs_service_id: id,
        mcc: String::new(),
        mnc: String::new(),
    }
}

/// The TMGI as session-manager's control service writes it.
pub fn tmgi_key(id: u32) -> String {
    format!("{id:06x}")
}

/// What the network holds for UE `index`.
pub async fn network_ue(
    control: &mut SessionControlClient<Channel>,
    index: u32,
) -> anyhow::Result<sm::Ue> {
    Ok(control
        .get_ue(sm::GetUeRequest { supi: supi(index) })
        .await?
        .into_inner())
}

/// What UE `index` holds.
pub async fn device(gnb: &mut Gnb, index: u32) -> anyhow::Result<ue::FiveGsUe> {
    Ok(gnb.get_ue(ue::UeRef { ue: index }).await?.into_inner())
}

/// The QFIs the network has in PDU session `psi` of `ue`.
pub fn network_qfis(ue: &sm::Ue, psi: u32) -> Vec<u32> {
    (ue.sessions.iter())
        .find(|s| s.psi == psi)
        .map(|s| s.flows.iter().map(|f| f.qfi).collect())
        .unwrap_or_default()
}

/// The QFIs UE `ue` has in PDU session `psi`.
pub fn device_qfis(ue: &ue::FiveGsUe, psi: u32) -> Vec<u32> {
    (ue.sessions.iter())
        .find(|s| s.pdu_session_id == psi)
        .map(|s| s.qfis.clone())
        .unwrap_or_default()
}

/// Fail with the result's detail unless the procedure was accepted.
pub fn accepted(result: ue::ProcedureResult) -> anyhow::Result<ue::ProcedureResult> {
    anyhow::ensure!(
        result.ok,
        "{} failed: {} (cause {} {})",
        result.procedure,
        result.detail,
        result.cause_kind,
        result.cause
    );
    Ok(result)
}

/// UE `index` registers and establishes PDU session `psi` (its default QoS flow, QFI 1).
pub async fn register_and_establish(gnb: &mut Gnb, index: u32, psi: u32) -> anyhow::Result<()> {
    accepted(gnb.register(ue::UeRef { ue: index }).await?.into_inner())?;
    establish(gnb, index, psi).await
}

/// UE `index` establishes PDU session `psi`.
pub async fn establish(gnb: &mut Gnb, index: u32, psi: u32) -> anyhow::Result<()> {
    let request = ue::EstablishRequest {
        ue: index,
        pdu_session_id: psi,
    };
    accepted(gnb.establish(request).await?.into_inner())?;
    Ok(())
}

/// UE `index` joins the MBS session `id` on PDU session `psi` (0: on a new session).
pub async fn join(
    gnb: &mut Gnb,
    index: u32,
    id: u32,
    psi: u32,
) -> anyhow::Result<ue::ProcedureResult> {
    let request = ue::JoinRequest {
        ue: index,
        tmgi: Some(tmgi(id)),
        pdu_session_id: psi,
        new_session: psi == 0,
    };
    Ok(gnb.join(request).await?.into_inner())
}

/// UE `index` loses coverage.
pub async fn lose_coverage(gnb: &mut Gnb, index: u32) -> anyhow::Result<()> {
    accepted(
        gnb.lose_coverage(ue::UeRef { ue: index })
            .await?
            .into_inner(),
    )?;
    Ok(())
}

/// UE `index` closes its MBS app (every MBS session).
pub async fn close_mbs_app(gnb: &mut Gnb, index: u32) -> anyhow::Result<()> {
    let request = ue::CloseMbsAppRequest {
        ue: index,
        tmgi: None,
    };
    accepted(gnb.close_mbs_app(request).await?.into_inner())?;
    Ok(())
}

/// UE `index` is back in coverage and completes its mobility registration.
pub async fn regain_coverage(gnb: &mut Gnb, index: u32) -> anyhow::Result<()> {
    accepted(
        gnb.regain_coverage(ue::UeRef { ue: index })
            .await?
            .into_inner(),
    )?;
    Ok(())
}

/// Wait until the network has paged UE `index` since its last registration (bounded).
pub async fn network_pages(
    control: &mut SessionControlClient<Channel>,
    index: u32,
) -> anyhow::Result<sm::Ue> {
    until(
        Duration::from_secs(10),
        "session-manager paging the UE",
        || {
            let mut control = control.clone();
            async move {
                let ue = network_ue(&mut control, index).await.ok()?;
                (ue.pagings_since_registration > 0).then_some(ue)
            }
        },
    )
    .await
}

/// Let `periods` paging intervals pass (to show that no paging comes).
pub async fn paging_periods(periods: u32) {
    tokio::time::sleep(Duration::from_millis(PAGING_INTERVAL_MS) * periods).await;
}
