//! CAP 1.2 on the specification's own examples (OASIS CAP 1.2, Appendix A: the Homeland Security
//! Advisory System alert, the severe thunderstorm warning, the earthquake report update and the
//! multilingual AMBER alert — transcribed here from the published standard), an invalid file, an
//! XXE file, a round-trip property and arbitrary bytes.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use vigie_adapters::cap::alert::*;
use vigie_adapters::cap::room;
use vigie_domain::{Alert, AlertId, Command};

#[path = "support/cap_schema.rs"]
mod cap_schema;

/// A.1 Homeland Security Advisory System alert.
const HOMELAND: &str = r#"<?xml version = "1.0" encoding = "UTF-8"?>
<alert xmlns = "urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>43b080713727</identifier>
  <sender>hsas@dhs.gov</sender>
  <sent>2003-04-02T14:39:01-05:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Security</category>
    <event>Homeland Security Advisory System Update</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <senderName>U.S. Government, Department of Homeland Security</senderName>
    <headline>Homeland Security Sets Code ORANGE</headline>
    <description>The Department of Homeland Security has elevated the Homeland Security Advisory System threat level to ORANGE / High in response to intelligence which may indicate a heightened threat of terrorism.</description>
    <instruction> A High Risk of Terrorist Attacks has been determined. </instruction>
    <web>http://www.dhs.gov/dhspublic/display?theme=29</web>
    <parameter>
      <valueName>HSAS</valueName>
      <value>ORANGE</value>
    </parameter>
    <resource>
      <resourceDesc>Image file (GIF)</resourceDesc>
      <mimeType>image/gif</mimeType>
      <uri>http://www.dhs.gov/dhspublic/getAdvisoryImage</uri>
    </resource>
    <area>
      <areaDesc>U.S. nationwide and interests worldwide</areaDesc>
    </area>
  </info>
</alert>"#;

/// A.2 Severe thunderstorm warning.
const THUNDERSTORM: &str = r#"<?xml version = "1.0" encoding = "UTF-8"?>
<alert xmlns = "urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>KSTO1055887203</identifier>
  <sender>KSTO@NWS.NOAA.GOV</sender>
  <sent>2003-06-17T14:57:00-07:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>SEVERE THUNDERSTORM</event>
    <responseType>Shelter</responseType>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <eventCode>
      <valueName>SAME</valueName>
      <value>SVR</value>
    </eventCode>
    <expires>2003-06-17T16:00:00-07:00</expires>
    <senderName>NATIONAL WEATHER SERVICE SACRAMENTO CA</senderName>
    <headline>SEVERE THUNDERSTORM WARNING</headline>
    <description> AT 254 PM PDT...NATIONAL WEATHER SERVICE DOPPLER RADAR INDICATED A SEVERE THUNDERSTORM OVER SOUTH CENTRAL ALPINE COUNTY...OR ABOUT 18 MILES SOUTHEAST OF KIRKWOOD...MOVING SOUTHWEST AT 5 MPH. HAIL...INTENSE RAIN AND STRONG DAMAGING WINDS ARE LIKELY WITH THIS STORM.</description>
    <instruction>TAKE COVER IN A SUBSTANTIAL SHELTER UNTIL THE STORM PASSES.</instruction>
    <contact>BARUFFALDI/JUSKIE</contact>
    <area>
      <areaDesc>EXTREME NORTH CENTRAL TUOLUMNE COUNTY IN CALIFORNIA, EXTREME NORTHEASTERN CALAVERAS COUNTY IN CALIFORNIA, SOUTHWESTERN ALPINE COUNTY IN CALIFORNIA</areaDesc>
      <polygon>38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14</polygon>
      <geocode>
        <valueName>SAME</valueName>
        <value>006109</value>
      </geocode>
      <geocode>
        <valueName>SAME</valueName>
        <value>006009</value>
      </geocode>
      <geocode>
        <valueName>SAME</valueName>
        <value>006003</value>
      </geocode>
    </area>
  </info>
</alert>"#;

/// A.3 Earthquake report (an Update).
const EARTHQUAKE: &str = r#"<?xml version = "1.0" encoding = "UTF-8"?>
<alert xmlns = "urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>TRI13970876.2</identifier>
  <sender>trinet@caltech.edu</sender>
  <sent>2003-06-11T20:56:00-07:00</sent>
  <status>Actual</status>
  <msgType>Update</msgType>
  <scope>Public</scope>
  <references>trinet@caltech.edu,TRI13970876.1,2003-06-11T20:30:00-07:00</references>
  <info>
    <category>Geo</category>
    <event>Earthquake</event>
    <urgency>Past</urgency>
    <severity>Minor</severity>
    <certainty>Observed</certainty>
    <senderName>Southern California Seismic Network (TriNet) operated by Caltech and USGS</senderName>
    <headline>EQ 3.4 Imperial County CA</headline>
    <description>A minor earthquake measuring 3.4 on the Richter scale occurred near Brawley, California at 8:30 PM Pacific Daylight Time on Wednesday, June 11, 2003. (This event has now been reviewed by a seismologist)</description>
    <web>http://www.trinet.org/scsn.html</web>
    <parameter>
      <valueName>EventID</valueName>
      <value>13970876</value>
    </parameter>
    <parameter>
      <valueName>Version</valueName>
      <value>1</value>
    </parameter>
    <parameter>
      <valueName>Magnitude</valueName>
      <value>3.4 Ml</value>
    </parameter>
    <parameter>
      <valueName>Depth</valueName>
      <value>11.8 mi.</value>
    </parameter>
    <parameter>
      <valueName>Quality</valueName>
      <value>Excellent</value>
    </parameter>
    <area>
      <areaDesc>1 mi. WSW of Brawley, CA; 11 mi. N of El Centro, CA; 30 mi. E of OCOTILLO (quarry); 1 mi. N of the Imperial Fault</areaDesc>
      <circle>32.9525,-115.5527 0</circle>
    </area>
  </info>
</alert>"#;

/// A.4 AMBER alert (multilingual).
const AMBER: &str = r#"<?xml version = "1.0" encoding = "UTF-8"?>
<alert xmlns = "urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>KAR0-0306112239-SW</identifier>
  <sender>KARO@CLETS.DOJ.CA.GOV</sender>
  <sent>2003-06-11T22:39:00-07:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <source>SW</source>
  <scope>Public</scope>
  <info>
    <language>en-US</language>
    <category>Rescue</category>
    <event>Child Abduction</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <eventCode>
      <valueName>SAME</valueName>
      <value>CAE</value>
    </eventCode>
    <senderName>Los Angeles Police Dept - LAPD</senderName>
    <headline>Amber Alert in Los Angeles County</headline>
    <description>DATE/TIME: 06/11/03, 1915 HRS.  VICTIM(S): KHAYRI DOE JR. M/B BLK/BRO 3'0", 40 LBS. LIGHT COMPLEXION.  DOB 06/24/01. WEARING RED SHORTS, WHITE T-SHIRT, W/BLUE COLLAR.  LOCATION: 5721 DOE ST., LOS ANGELES, CA.  SUSPECT(S): KHAYRI DOE SR. DOB 04/18/71 M/B, BLK HAIR, BRO EYE. VEHICLE: 81' BUICK 2-DR, BLUE (4XXX000).</description>
    <contact>DET. SMITH, 77TH DIV, LOS ANGELES POLICE DEPT-LAPD AT 213 485-2389</contact>
    <area>
      <areaDesc>Los Angeles County</areaDesc>
      <geocode>
        <valueName>SAME</valueName>
        <value>006037</value>
      </geocode>
    </area>
  </info>
  <info>
    <language>es-US</language>
    <category>Rescue</category>
    <event>Abducción de Niño</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <eventCode>
      <valueName>SAME</valueName>
      <value>CAE</value>
    </eventCode>
    <senderName>Departamento de Policía de Los Ángeles - LAPD</senderName>
    <headline>Alerta Amber en el condado de Los Ángeles</headline>
    <description>DIA/HORA: 06/11/03, 1915 HORAS. VICTIMA(S): KHAYRI DOE JR. M/B BLK/BRO 3'0", 40 LIBRAS. TEZ LIGERA. DOB 06/24/01. CORTOCIRCUITOS ROJOS QUE USAN, CAMISETA BLANCA, COLLAR DE W/BLUE. LOCALIZACIÓN: 5721 DOE ST., LOS ÁNGELES. SOSPECHOSO: KHAYRI DOE ST. DOB 04/18/71 M/B, PELO NEGRO, OJO CAFÉ. VEHÍCULO: 81' BUICK 2-DR, AZUL (4XXX000)</description>
    <contact>DET. SMITH, 77TH DIV, LOS ANGELES POLICE DEPT-LAPD AT 213 485-2389</contact>
    <area>
      <areaDesc>condado de Los Ángeles</areaDesc>
      <geocode>
        <valueName>SAME</valueName>
        <value>006037</value>
      </geocode>
    </area>
  </info>
</alert>"#;

#[test]
fn the_four_oasis_examples_parse() {
    let a = CapAlert::parse(HOMELAND.as_bytes()).unwrap();
    assert_eq!((a.identifier.as_str(), a.sender.as_str()), ("43b080713727", "hsas@dhs.gov"));
    assert_eq!(a.sent_ms, 1_049_312_341_000, "2003-04-02T14:39:01-05:00");
    assert_eq!((a.status, a.msg_type, a.scope), (Status::Actual, MsgType::Alert, Scope::Public));
    let info = &a.infos[0];
    assert_eq!(
        (info.urgency, info.severity, info.certainty),
        (Urgency::Immediate, Severity::Severe, Certainty::Likely)
    );
    assert_eq!(info.headline.as_deref(), Some("Homeland Security Sets Code ORANGE"));
    assert_eq!(info.areas[0].desc, "U.S. nationwide and interests worldwide");

    let storm = CapAlert::parse(THUNDERSTORM.as_bytes()).unwrap();
    let area = &storm.infos[0].areas[0];
    assert_eq!(area.polygons[0].len(), 5);
    assert_eq!(area.polygons[0][0], (38.47, -120.14));
    assert_eq!(area.geocodes.len(), 3);
    assert_eq!(storm.expires_ms(), Some(1_055_890_800_000), "2003-06-17T16:00:00-07:00");

    let quake = CapAlert::parse(EARTHQUAKE.as_bytes()).unwrap();
    assert_eq!(quake.msg_type, MsgType::Update);
    assert_eq!(quake.references[0].identifier, "TRI13970876.1");
    assert_eq!(quake.infos[0].areas[0].circles[0], ((32.9525, -115.5527), 0.0));

    let amber = CapAlert::parse(AMBER.as_bytes()).unwrap();
    assert_eq!(amber.infos.len(), 2);
    assert_eq!(amber.infos[1].event, "Abducción de Niño");
    assert_eq!(amber.infos[1].language.as_deref(), Some("es-US"));
}

#[test]
fn the_examples_come_back_from_their_xml() {
    for sample in [HOMELAND, THUNDERSTORM, EARTHQUAKE, AMBER] {
        let a = CapAlert::parse(sample.as_bytes()).unwrap();
        let again = CapAlert::parse(a.to_xml().as_bytes()).unwrap();
        assert_eq!(again, a, "{}", a.to_xml());
    }
}

/// What Vigie writes is valid against the OASIS schema itself (CAP-v1.2.xsd, checked by lxml): the
/// four examples as Vigie writes them back, 200 random alerts, and the same through the room's
/// model (what the room sends out).
#[test]
fn what_vigie_writes_is_valid_against_the_oasis_schema() {
    let mut alerts: Vec<(String, String)> =
        [("homeland", HOMELAND), ("thunderstorm", THUNDERSTORM), ("earthquake", EARTHQUAKE), ("amber", AMBER)]
            .iter()
            .map(|(name, xml)| (name.to_string(), CapAlert::parse(xml.as_bytes()).unwrap().to_xml()))
            .collect();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for i in 0..200 {
        let a = alert().new_tree(&mut runner).unwrap().current();
        alerts.push((format!("random-{i}"), a.to_xml()));
        if let Ok(Command::ReceiveAlert { content, .. }) = room::receive(&a) {
            let held = Alert { alert_id: AlertId(1), content, received_at_ms: 0, updated_at_ms: 0, cancelled: false };
            alerts.push((format!("room-{i}"), room::alert(&held).to_xml()));
        }
    }
    let Some(result) = cap_schema::validate(&alerts) else { return };
    let checked = result.unwrap_or_else(|report| panic!("invalid against CAP-v1.2.xsd:\n{report}"));
    assert!(checked > 300, "{checked}");
}

#[test]
fn an_invalid_alert_is_refused_naming_the_element() {
    let field = |xml: String| CapAlert::parse(xml.as_bytes()).unwrap_err().field;
    assert_eq!(
        field(THUNDERSTORM.replace("<urgency>Immediate</urgency>", "<urgency>Soon</urgency>")),
        "info[0].urgency"
    );
    assert_eq!(field(THUNDERSTORM.replace("<sent>2003-06-17T14:57:00-07:00</sent>", "<sent>yesterday</sent>")), "sent");
    assert_eq!(field(THUNDERSTORM.replace(" 38.47,-120.14</polygon>", "</polygon>")), "info[0].area[0].polygon");
    assert_eq!(field(THUNDERSTORM.replace("38.34,-119.95", "98.34,-119.95")), "info[0].area[0].polygon");
    assert_eq!(
        field(
            EARTHQUAKE
                .replace("<references>trinet@caltech.edu,TRI13970876.1,2003-06-11T20:30:00-07:00</references>", "")
        ),
        "references"
    );
    assert_eq!(field(HOMELAND.replace("<identifier>43b080713727</identifier>", "")), "identifier");
    assert_eq!(
        field(HOMELAND.replace("urn:oasis:names:tc:emergency:cap:1.2", "urn:oasis:names:tc:emergency:cap:1.1")),
        "alert"
    );
    assert_eq!(field(EARTHQUAKE.replace("32.9525,-115.5527 0", "32.9525,-115.5527 -4")), "info[0].area[0].circle");
}

#[test]
fn xxe_billion_laughs_and_xinclude_read_nothing() {
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier></alert>"#;
    let e = CapAlert::parse(xxe.as_bytes()).unwrap_err();
    assert_eq!(e.field, "alert");
    assert!(e.message.contains("DTD"), "{e}");
    let laughs = r#"<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><alert>&lol2;</alert>"#;
    assert!(CapAlert::parse(laughs.as_bytes()).unwrap_err().message.contains("DTD"));
    // XInclude is not processed: the include stays an unknown element, and /etc/passwd unread.
    let xinclude = HOMELAND.replace(
        "<note>",
        "",
    ).replace(
        "<scope>Public</scope>",
        r#"<scope>Public</scope><note><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/></note>"#,
    );
    let parsed = CapAlert::parse(xinclude.as_bytes()).unwrap();
    assert_eq!(parsed.note, None, "nothing was included");
    let huge = format!("{}{}", HOMELAND, " ".repeat(MAX_ALERT_BYTES));
    assert!(CapAlert::parse(huge.as_bytes()).unwrap_err().message.contains("at most"));
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._@-]{1,30}"
}

fn text() -> impl Strategy<Value = String> {
    "[A-Za-zéèà0-9 ,.'\"<>&-]{1,60}".prop_map(|s| s.trim().to_owned()).prop_filter("not blank", |s| !s.is_empty())
}

fn time() -> impl Strategy<Value = i64> {
    (1_000_000_000i64..2_000_000_000).prop_map(|s| s * 1000)
}

fn area() -> impl Strategy<Value = CapArea> {
    let ring = proptest::collection::vec((-89.0f64..89.0, -179.0f64..179.0), 3..8).prop_map(|mut r| {
        r.push(r[0]);
        r
    });
    (
        text(),
        proptest::collection::vec(ring, 0..3),
        proptest::collection::vec(((-89.0f64..89.0, -179.0f64..179.0), 0.0f64..500.0), 0..3),
        proptest::collection::vec((name(), name()), 0..3),
    )
        .prop_map(|(desc, polygons, circles, geocodes)| CapArea { desc, polygons, circles, geocodes })
}

fn info() -> impl Strategy<Value = Info> {
    (
        proptest::sample::subsequence(Category::ALL.to_vec(), 1..3),
        text(),
        proptest::sample::select(Urgency::ALL.to_vec()),
        proptest::sample::select(Severity::ALL.to_vec()),
        proptest::sample::select(Certainty::ALL.to_vec()),
        proptest::option::of(time()),
        proptest::option::of(time()),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::collection::vec(area(), 0..3),
    )
        .prop_map(
            |(
                categories,
                event,
                urgency,
                severity,
                certainty,
                effective_ms,
                expires_ms,
                headline,
                description,
                areas,
            )| Info {
                language: None,
                categories,
                event,
                urgency,
                severity,
                certainty,
                effective_ms,
                onset_ms: None,
                expires_ms,
                sender_name: None,
                headline,
                description,
                instruction: None,
                web: None,
                areas,
            },
        )
}

fn alert() -> impl Strategy<Value = CapAlert> {
    (
        name(),
        name(),
        time(),
        proptest::sample::select(Status::ALL.to_vec()),
        proptest::collection::vec(info(), 0..3),
        proptest::option::of((name(), name(), time())),
    )
        .prop_map(|(identifier, sender, sent_ms, status, infos, reference)| CapAlert {
            identifier,
            sender,
            sent_ms,
            status,
            msg_type: if reference.is_some() { MsgType::Update } else { MsgType::Alert },
            scope: Scope::Public,
            restriction: None,
            note: None,
            references: reference
                .into_iter()
                .map(|(sender, identifier, sent_ms)| Reference { sender, identifier, sent_ms })
                .collect(),
            infos,
        })
}

proptest! {
    #[test]
    fn an_alert_comes_back_from_its_xml_exactly(a in alert()) {
        let xml = a.to_xml();
        prop_assert_eq!(CapAlert::parse(xml.as_bytes()).unwrap(), a, "{}", xml);
    }

    /// Through Vigie's model and back: an alert the room took in, sent out as CAP and taken in
    /// again, says the same.
    #[test]
    fn an_alert_round_trips_through_the_room(a in alert()) {
        // Random rings may enclose nothing; the room refuses those (tested above).
        let Ok(Command::ReceiveAlert { content, .. }) = room::receive(&a) else { return Ok(()) };
        let held = Alert { alert_id: AlertId(1), content: content.clone(), received_at_ms: 0, updated_at_ms: 0, cancelled: false };
        let out = room::alert(&held).to_xml();
        let Ok(Command::ReceiveAlert { content: again, .. }) = room::receive(&CapAlert::parse(out.as_bytes()).unwrap()) else {
            return Err(TestCaseError::fail(format!("not taken back: {out}")));
        };
        prop_assert_eq!(again, content, "{}", out);
    }

    /// Fuzzing: arbitrary bytes, and an example cut or spliced anywhere: a refusal, never a panic.
    #[test]
    fn arbitrary_bytes_are_refused_or_parsed_never_a_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        cut in 0usize..THUNDERSTORM.len(),
        splice in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let _ = CapAlert::parse(&bytes);
        let mut spliced = THUNDERSTORM.as_bytes()[..cut].to_vec();
        spliced.extend_from_slice(&splice);
        spliced.extend_from_slice(&THUNDERSTORM.as_bytes()[cut..]);
        let _ = CapAlert::parse(&spliced);
        let _ = CapAlert::parse(&THUNDERSTORM.as_bytes()[..cut]);
    }
}
