//! TMGI paging (contract §8; TS 23.247 §7.2.5 group paging, NGAP Multicast Group Paging): every
//! `paging.interval_ms`, each UE that is associated with a TMGI and whose MBS path is down is
//! paged with that TMGI on the gNB where it was last seen. One timer per TMGI, running while at
//! least one of its UEs has its path down. Every paging is counted per UE and TMGI and in the UE's
//! `pagings_since_registration`.

use std::collections::BTreeMap;
use std::time::Instant;

use super::registry::parse_tmgi_key;
use super::{Core, Event, Output};

/// Start or stop the timer of TMGI `key` after its UEs changed.
pub(super) fn rearm(core: &mut Core, now: Instant, key: &str) {
    let someone_down = core.path_down.get(key).is_some_and(|set| !set.is_empty());
    let armed = core.paging_due.contains_key(key);
    if someone_down && !armed {
        let next = now + core.cfg.paging_interval;
        core.paging_due.insert(key.to_string(), next);
        core.outputs.push_back(Output::PagingTimer {
            tmgi: key.to_string(),
            next: Some(next),
        });
    } else if !someone_down && armed {
        core.paging_due.remove(key);
        core.outputs.push_back(Output::PagingTimer {
            tmgi: key.to_string(),
            next: None,
        });
    }
}

/// Page every TMGI whose timer is due, and re-arm it.
pub(super) fn on_timeout(core: &mut Core, now: Instant) {
    let due: Vec<String> = (core.paging_due.iter())
        .filter(|(_, at)| **at <= now)
        .map(|(key, _)| key.clone())
        .collect();
    for key in due {
        page(core, now, &key);
        core.paging_due.remove(&key);
        rearm(core, now, &key);
    }
}

fn page(core: &mut Core, now: Instant, key: &str) {
    let Some(tmgi) = parse_tmgi_key(key) else {
        return;
    };
    let supis: Vec<String> = (core.path_down.get(key))
        .map(|set| set.iter().cloned().collect())
        .unwrap_or_default();
    let mut per_gnb: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut paged = 0;
    for supi in supis {
        let Some(mut ue) = core.take(&supi) else {
            continue;
        };
        let Some(location) = ue.location.clone() else {
            core.put_back(ue);
            continue;
        };
        *ue.pagings.entry(key.to_string()).or_default() += 1;
        ue.pagings_since_registration += 1;
        per_gnb
            .entry(location.gnb)
            .or_default()
            .push(location.ran_ue_id);
        paged += 1;
        core.keep(now, ue);
    }
    for (gnb, ran_ue_ids) in per_gnb {
        core.outputs.push_back(Output::Paging {
            gnb,
            tmgi,
            ran_ue_ids,
        });
    }
    if paged > 0 {
        core.event(Event::Paged {
            tmgi: key.to_string(),
            ues: paged,
        });
    }
}
