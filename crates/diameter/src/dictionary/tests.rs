use super::*;

#[test]
fn every_embedded_file_parses() {
    let mut d = Dictionary::new();
    for (name, text) in STANDARD_FILES {
        d.load_str(name, text).unwrap();
    }
    assert_eq!(d.avps().count(), Dictionary::standard().avps().count());
}

#[test]
fn lookups_by_code_vendor_and_name_agree() {
    let d = Dictionary::standard();
    for (name, code, vendor, ty) in [
        ("Session-Id", 263, 0, AvpType::UTF8String),
        ("Route-Record", 282, 0, AvpType::DiameterIdentity),
        ("Host-IP-Address", 257, 0, AvpType::Address),
        ("CC-Request-Type", 416, 0, AvpType::Enumerated),
        ("Event-Trigger", 1006, 10415, AvpType::Enumerated),
        ("QoS-Rule-Install", 1051, 10415, AvpType::Grouped),
        ("Specific-Action", 513, 10415, AvpType::Enumerated),
        ("Subsession-Decision-Info", 2200, 10415, AvpType::Grouped),
        ("Subsession-Enforcement-Info", 2201, 10415, AvpType::Grouped),
        ("Subsession-Id", 2202, 10415, AvpType::Unsigned32),
        ("Subsession-Operation", 2203, 10415, AvpType::Enumerated),
    ] {
        let a = d.avp_by_name(name).unwrap();
        assert_eq!((a.code, a.vendor_id, a.ty), (code, vendor, ty), "{name}");
        assert_eq!(d.avp(code, vendor).unwrap().name, name);
    }
    assert!(d.avp(1006, 0).is_none(), "3GPP AVPs need vendor 10415");
}

#[test]
fn key_enumerations_are_named() {
    let d = Dictionary::standard();
    let e = |avp: &str, v: i64| {
        d.avp_by_name(avp)
            .unwrap()
            .enum_name(v)
            .unwrap()
            .to_string()
    };
    assert_eq!(e("CC-Request-Type", 3), "TERMINATION_REQUEST");
    assert_eq!(e("Result-Code", 5005), "DIAMETER_MISSING_AVP");
    assert_eq!(e("Termination-Cause", 1), "DIAMETER_LOGOUT");
    assert_eq!(e("Redirect-Host-Usage", 1), "ALL_SESSION");
    assert_eq!(e("Event-Trigger", 5), "LOSS_OF_BEARER");
    assert_eq!(e("Subsession-Operation", 0), "TERMINATION");
    assert_eq!(
        d.avp_by_name("Specific-Action")
            .unwrap()
            .enum_value("INDICATION_OF_LOSS_OF_BEARER"),
        Some(2)
    );
}

#[test]
fn commands_know_applications_and_proxiability() {
    let d = Dictionary::standard();
    for (app, name) in [
        (0, "Diameter-Common-Messages"),
        (4, "Diameter-Credit-Control"),
        (16_777_236, "Rx"),
        (16_777_238, "Gx"),
        (16_777_266, "Gxx"),
        (16_777_267, "S9"),
        (0xffff_ffff, "Relay"),
    ] {
        assert_eq!(d.application(app), Some(name));
    }
    let cer = d.command(257, 0, true).unwrap();
    assert!(!cer.proxiable);
    assert_eq!(cer.required.len(), 5);
    let gx_ccr = d.command(272, 16_777_238, true).unwrap();
    assert!(gx_ccr.proxiable);
    assert!(gx_ccr.required.contains(&vec![(416, 0)]));
    assert_eq!(d.command(265, 16_777_236, true).unwrap().abbrev, "AAR");
    assert_eq!(d.command(272, 16_777_267, false).unwrap().abbrev, "CCA");
}

#[test]
fn a_new_avp_is_one_line() {
    let mut d = Dictionary::standard().clone();
    d.load_str(
        "site.dict",
        "avp 99999 10415 Lab-Origin-Session-Id UTF8String -\n",
    )
    .unwrap();
    assert_eq!(d.avp(99999, 10415).unwrap().name, "Lab-Origin-Session-Id");
}

#[test]
fn bad_lines_name_file_and_line() {
    let mut d = Dictionary::new();
    let e = d
        .load_str("x.dict", "vendor 0 IETF\n\navp 1 0 A Blob M\n")
        .unwrap_err();
    assert_eq!((e.file.as_str(), e.line), ("x.dict", 3));
    assert!(e.to_string().contains("unknown type `Blob`"));
    let e = d.load_str("y.dict", "command 1 77 R X Y P\n").unwrap_err();
    assert!(e.msg.contains("unknown application"));
}

#[test]
fn ccf_rules_carry_occurrence_counts() {
    let d = Dictionary::standard();
    let ccr = d.command(272, 16_777_238, true).unwrap();
    let rule = |name: &str| {
        let a = d.avp_by_name(name).unwrap();
        ccr.grammar.rule_for(a.code, a.vendor_id).unwrap().1.clone()
    };
    assert_eq!(
        (
            rule("Session-Id").kind,
            rule("Session-Id").min,
            rule("Session-Id").max
        ),
        (RuleKind::Fixed, 1, Some(1))
    );
    assert_eq!(
        (rule("Origin-Host").kind, rule("Origin-Host").max),
        (RuleKind::Required, Some(1))
    );
    assert_eq!(
        (rule("Destination-Host").min, rule("Destination-Host").max),
        (0, Some(1))
    );
    assert_eq!(
        (rule("AN-GW-Address").min, rule("AN-GW-Address").max),
        (0, Some(2))
    );
    assert_eq!(rule("Route-Record").max, None);
    assert!(ccr.grammar.other_avps, "*[AVP]");
    // `required` keeps its meaning: the {} and <> rules.
    assert_eq!(ccr.required, ccr.grammar.required());
    assert_eq!(ccr.required.len(), 7);
    let cca = d.command(272, 16_777_238, false).unwrap();
    let dh = d.avp_by_name("Destination-Host").unwrap();
    assert_eq!(cca.grammar.rule_for(dh.code, 0).unwrap().1.max, Some(0));
    let cer = d.command(257, 0, true).unwrap();
    let hip = cer.grammar.rule_for(257, 0).unwrap().1;
    assert_eq!((hip.min, hip.max), (1, None), "1*{{Host-IP-Address}}");
    assert!(d.answer_message().is_some());
}

#[test]
fn bare_names_keep_the_older_meaning() {
    let mut d = Dictionary::standard().clone();
    d.load_str(
        "site.dict",
        "application 99 Lab\ncommand 1 99 R LBR Lab-Request - Origin-Host Auth-Application-Id|Acct-Application-Id\n",
    )
    .unwrap();
    let c = d.command(1, 99, true).unwrap();
    assert_eq!(c.required, vec![vec![(264, 0)], vec![(258, 0), (259, 0)]]);
    assert!(c.grammar.other_avps);
    assert!(
        c.grammar
            .rules
            .iter()
            .all(|r| r.min == 1 && r.max.is_none())
    );
}

#[test]
fn a_grammar_without_star_avp_is_closed() {
    let mut d = Dictionary::standard().clone();
    d.load_str(
        "site.dict",
        "application 99 Lab\ncommand 1 99 R LBR Lab-Request - {Origin-Host} *[Route-Record]\n",
    )
    .unwrap();
    assert!(!d.command(1, 99, true).unwrap().grammar.other_avps);
}

#[test]
fn bad_rules_are_named() {
    let mut d = Dictionary::standard().clone();
    for (line, why) in [
        ("command 1 0 R X Y - {Origin-Host", "does not end with `}`"),
        (
            "command 1 0 R X Y - 1*[Origin-Host]",
            "optional rule has minimum 0",
        ),
        (
            "command 1 0 R X Y - 0*{Origin-Host}",
            "required rule has minimum 1",
        ),
        (
            "command 1 0 R X Y - 3*2{Origin-Host}",
            "maximum below minimum",
        ),
        ("command 1 0 R X Y - x*{Origin-Host}", "is not [min]*[max]"),
        (
            "command 1 0 R X Y - {Origin-Host} [Origin-Host]",
            "already in another rule",
        ),
        (
            "command 1 0 R X Y - {No-Such-Avp}",
            "unknown AVP `No-Such-Avp`",
        ),
    ] {
        let e = d.load_str("bad.dict", line).unwrap_err();
        assert!(e.msg.contains(why), "{line}: {e}");
    }
}
