use super::*;
use jiff::civil::{date, time};
use proptest::prelude::*;

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn rotation(start: DateTime, length: ShiftLength, people: &[&str]) -> Layer {
    Layer {
        active_from: None,
        active_until: None,
        name: "primary".into(),
        start,
        length,
        participants: people.iter().map(|it| it.to_string()).collect(),
        windows: Vec::new(),
    }
}

fn schedule(zone_name: &str, layers: Vec<Layer>) -> Schedule {
    Schedule {
        zone: zone(zone_name),
        layers,
        overrides: Vec::new(),
    }
}

#[test]
fn gaps_and_folds_resolve_as_documented() {
    let berlin = zone("Europe/Berlin");
    // Each row: wall-clock time, the instant it means.
    let cases = [
        (date(2026, 3, 29).at(1, 30, 0, 0), "2026-03-29T00:30:00Z"),
        // 02:00–03:00 does not exist that night: the moment the clock jumps.
        (date(2026, 3, 29).at(2, 0, 0, 0), "2026-03-29T01:00:00Z"),
        (date(2026, 3, 29).at(2, 30, 0, 0), "2026-03-29T01:00:00Z"),
        (date(2026, 3, 29).at(3, 0, 0, 0), "2026-03-29T01:00:00Z"),
        // 02:00–03:00 happens twice: the first time (summer time).
        (date(2026, 10, 25).at(2, 30, 0, 0), "2026-10-25T00:30:00Z"),
        (date(2026, 10, 25).at(3, 0, 0, 0), "2026-10-25T02:00:00Z"),
    ];
    for (wall, instant) in cases {
        assert_eq!(resolve(&berlin, wall), ts(instant), "{wall}");
    }
    let lord_howe = zone("Australia/Lord_Howe");
    // Lord Howe moves its clock by 30 minutes: 02:00 → 02:30 on 2026-10-04.
    assert_eq!(
        resolve(&lord_howe, date(2026, 10, 4).at(2, 15, 0, 0)),
        resolve(&lord_howe, date(2026, 10, 4).at(2, 30, 0, 0)),
    );
}

#[test]
fn the_picture_has_a_lane_per_layer_the_overrides_and_the_result() {
    let mut office = rotation(
        date(2026, 3, 2).at(9, 0, 0, 0),
        ShiftLength::Weeks(1),
        &["cy"],
    );
    office.name = "office".into();
    office.windows = vec![Window {
        days: vec![Weekday::Monday],
        from: time(10, 0, 0, 0),
        to: time(12, 0, 0, 0),
    }];
    let mut it = schedule(
        "Europe/Berlin",
        vec![
            rotation(
                date(2026, 3, 2).at(9, 0, 0, 0),
                ShiftLength::Days(1),
                &["ana", "bo"],
            ),
            office,
        ],
    );
    it.overrides.push(Override {
        start: ts("2026-03-03T12:00:00Z"),
        end: ts("2026-03-03T14:00:00Z"),
        person: "dee".into(),
    });
    let (from, to) = (ts("2026-03-02T00:00:00Z"), ts("2026-03-04T00:00:00Z"));
    let lanes = it.lanes(from, to);
    let kinds: Vec<(&str, LaneKind)> = lanes.iter().map(|it| (it.name.as_str(), it.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("primary", LaneKind::Layer),
            ("office", LaneKind::Layer),
            ("Overrides", LaneKind::Overrides),
            ("On call", LaneKind::Result)
        ]
    );
    assert_eq!(lanes[3].shifts, it.shifts(from, to));
    for lane in &lanes {
        assert_eq!(lane.shifts.first().unwrap().start, from, "{}", lane.name);
        assert_eq!(lane.shifts.last().unwrap().end, to, "{}", lane.name);
    }
    // The office layer alone: cy on Monday 10–12 Berlin (09–11 UTC), nobody else.
    let office: Vec<_> = lanes[1]
        .shifts
        .iter()
        .filter(|it| it.person.is_some())
        .collect();
    assert_eq!(office.len(), 1);
    assert_eq!(office[0].start, ts("2026-03-02T09:00:00Z"));
    assert_eq!(office[0].end, ts("2026-03-02T11:00:00Z"));
    // The first layer has a gap before its first 09:00 handoff; the result shows it too.
    assert_eq!(lanes[0].shifts[0].person, None);
    assert_eq!(lanes[3].shifts[0].person, None);
    let dee: Vec<_> = lanes[2]
        .shifts
        .iter()
        .filter(|it| it.person.is_some())
        .collect();
    assert_eq!(dee.len(), 1);
    assert!(
        lanes[3]
            .shifts
            .iter()
            .any(|it| it.person.as_deref() == Some("dee"))
    );
    // Without overrides there is no overrides lane.
    it.overrides.clear();
    assert_eq!(it.lanes(from, to).len(), 3);
}

#[test]
fn a_daily_handoff_stays_at_nine_across_dst() {
    let it = schedule(
        "Europe/Berlin",
        vec![rotation(
            date(2026, 3, 27).at(9, 0, 0, 0),
            ShiftLength::Days(1),
            &["ana", "bo"],
        )],
    );
    let shifts = it.shifts(ts("2026-03-27T08:00:00Z"), ts("2026-03-31T07:00:00Z"));
    let starts: Vec<String> = shifts
        .iter()
        .map(|s| {
            s.start
                .to_zoned(it.zone.clone())
                .strftime("%d %H:%M")
                .to_string()
        })
        .collect();
    assert_eq!(starts, ["27 09:00", "28 09:00", "29 09:00", "30 09:00"]);
    // The night the clocks go forward, that shift is 23 hours.
    assert_eq!(shifts[1].end.duration_since(shifts[1].start).as_hours(), 23);
    assert_eq!(shifts[0].person.as_deref(), Some("ana"));
    assert_eq!(shifts[1].person.as_deref(), Some("bo"));
    assert_eq!(shifts[2].person.as_deref(), Some("ana"));
}

#[test]
fn hourly_turns_at_the_gap_and_the_fold() {
    let it = schedule(
        "Europe/Berlin",
        vec![rotation(
            date(2026, 1, 1).at(0, 0, 0, 0),
            ShiftLength::Hours(1),
            &["ana", "bo", "cy"],
        )],
    );
    let hours = |from: &str, to: &str| -> Vec<(String, i64)> {
        it.shifts(ts(from), ts(to))
            .iter()
            .map(|s| {
                (
                    s.start
                        .to_zoned(it.zone.clone())
                        .strftime("%H:%M %Z")
                        .to_string(),
                    s.end.duration_since(s.start).as_mins(),
                )
            })
            .collect()
    };
    // Spring: the 02:00 turn does not exist; 01:00 hands straight to the 03:00 turn.
    assert_eq!(
        hours("2026-03-29T00:00:00Z", "2026-03-29T03:00:00Z"),
        [
            ("01:00 CET".to_string(), 60),
            ("03:00 CEST".to_string(), 60),
            ("04:00 CEST".to_string(), 60)
        ]
    );
    // Autumn: the 02:00 turn starts at the first 02:00 and lasts until 03:00, two hours.
    assert_eq!(
        hours("2026-10-24T23:00:00Z", "2026-10-25T03:00:00Z"),
        [
            ("01:00 CEST".to_string(), 60),
            ("02:00 CEST".to_string(), 120),
            ("03:00 CET".to_string(), 60)
        ]
    );
}

#[test]
fn precedence_overrides_then_higher_layers_then_nobody() {
    let mut it = schedule(
        "America/New_York",
        vec![
            rotation(
                date(2026, 1, 5).at(0, 0, 0, 0),
                ShiftLength::Weeks(1),
                &["ana", "bo"],
            ),
            Layer {
                active_from: None,
                active_until: None,
                name: "business hours".into(),
                windows: vec![Window {
                    days: vec![Weekday::Monday, Weekday::Tuesday],
                    from: time(9, 0, 0, 0),
                    to: time(17, 0, 0, 0),
                }],
                ..rotation(
                    date(2026, 1, 5).at(9, 0, 0, 0),
                    ShiftLength::Days(1),
                    &["cy"],
                )
            },
        ],
    );
    // Each row: instant, who.
    let cases = [
        ("2026-01-05T13:59:00Z", Some("ana")), // Monday 08:59 EST
        ("2026-01-05T14:00:00Z", Some("cy")),  // Monday 09:00: the higher layer
        ("2026-01-05T22:00:00Z", Some("ana")), // Monday 17:00: back to the weekly one
        ("2026-01-07T15:00:00Z", Some("ana")), // Wednesday: no window
        ("2026-01-12T14:30:00Z", Some("cy")),
        ("2026-01-12T23:00:00Z", Some("bo")), // the second week
        ("2026-01-05T04:59:00Z", None),       // before anything started
    ];
    for (at, who) in cases {
        assert_eq!(it.on_call(ts(at)).map(String::as_str), who, "{at}");
    }
    it.overrides.push(Override {
        start: ts("2026-01-12T20:00:00Z"),
        end: ts("2026-01-13T20:00:00Z"),
        person: "dee".into(),
    });
    assert_eq!(it.on_call(ts("2026-01-12T23:00:00Z")).unwrap(), "dee");
    assert_eq!(it.on_call(ts("2026-01-13T20:00:00Z")).unwrap(), "cy");
    let shifts = it.shifts(ts("2026-01-05T04:00:00Z"), ts("2026-01-05T23:00:00Z"));
    let who: Vec<Option<&str>> = shifts.iter().map(|it| it.person.as_deref()).collect();
    assert_eq!(who, [None, Some("ana"), Some("cy"), Some("ana")]);
}

#[test]
fn a_window_past_midnight_belongs_to_the_day_it_starts() {
    let night = Layer {
        active_from: None,
        active_until: None,
        windows: vec![Window {
            days: vec![Weekday::Friday],
            from: time(22, 0, 0, 0),
            to: time(6, 0, 0, 0),
        }],
        ..rotation(
            date(2026, 1, 1).at(0, 0, 0, 0),
            ShiftLength::Weeks(1),
            &["owl"],
        )
    };
    let it = schedule("UTC", vec![night]);
    assert_eq!(it.on_call(ts("2026-01-09T23:00:00Z")).unwrap(), "owl"); // Friday
    assert_eq!(it.on_call(ts("2026-01-10T05:59:00Z")).unwrap(), "owl"); // Saturday early
    assert_eq!(it.on_call(ts("2026-01-10T06:00:00Z")), None);
    assert_eq!(it.on_call(ts("2026-01-08T23:00:00Z")), None); // Thursday
}

#[test]
fn follow_the_sun_hands_over_at_local_office_hours() {
    // Three offices, 8-hour shifts in UTC made of layers with windows.
    let office = |name: &str, from: i8| Layer {
        active_from: None,
        active_until: None,
        name: name.into(),
        windows: vec![Window {
            days: EVERY_DAY.to_vec(),
            from: time(from, 0, 0, 0),
            to: time((from + 8) % 24, 0, 0, 0),
        }],
        ..rotation(
            date(2026, 1, 1).at(0, 0, 0, 0),
            ShiftLength::Weeks(1),
            &[name],
        )
    };
    let it = schedule(
        "UTC",
        vec![office("sydney", 22), office("berlin", 6), office("nyc", 14)],
    );
    let shifts = it.shifts(ts("2026-01-05T00:00:00Z"), ts("2026-01-06T00:00:00Z"));
    let who: Vec<(String, &str)> = shifts
        .iter()
        .map(|s| {
            (
                s.start.strftime("%H:%M").to_string(),
                s.person.as_deref().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            ("00:00".to_string(), "sydney"),
            ("06:00".to_string(), "berlin"),
            ("14:00".to_string(), "nyc"),
            ("22:00".to_string(), "sydney"),
        ]
    );
}

#[test]
fn the_fairness_report_counts_weekends_and_nights() {
    let it = schedule(
        "UTC",
        vec![rotation(
            date(2026, 1, 2).at(9, 0, 0, 0), // a Friday
            ShiftLength::Days(1),
            &["ana", "bo"],
        )],
    );
    let shifts = it.shifts(ts("2026-01-02T09:00:00Z"), ts("2026-01-04T09:00:00Z"));
    let report = fairness(&it.zone, &shifts);
    // ana: Fri 09:00 → Sat 09:00: 15 h on Friday, 9 h on Saturday; night 22–07 = 9 h.
    assert_eq!(report["ana"].shifts, 1);
    assert_eq!(report["ana"].hours, 24.0);
    assert_eq!(report["ana"].weekend_hours, 9.0);
    assert_eq!(report["ana"].night_hours, 9.0);
    // bo: Sat 09:00 → Sun 09:00: all weekend.
    assert_eq!(report["bo"].weekend_hours, 24.0);
}

#[test]
fn bad_layers_are_refused() {
    let good = rotation(
        date(2026, 1, 1).at(9, 0, 0, 0),
        ShiftLength::Hours(4),
        &["a"],
    );
    assert_eq!(good.check(), Ok(()));
    let cases = [
        (
            Layer {
                active_from: None,
                active_until: None,
                participants: vec![],
                ..good.clone()
            },
            ScheduleError::NoParticipants,
        ),
        (
            Layer {
                active_from: None,
                active_until: None,
                length: ShiftLength::Minutes(5),
                ..good.clone()
            },
            ScheduleError::ShiftTooShort,
        ),
        (
            Layer {
                active_from: None,
                active_until: None,
                length: ShiftLength::Weeks(60),
                ..good.clone()
            },
            ScheduleError::ShiftTooLong,
        ),
        // Found by the fuzzer: a length whose minutes do not fit in an i64.
        (
            Layer {
                active_from: None,
                active_until: None,
                length: ShiftLength::Weeks(i64::MAX / 1000),
                ..good.clone()
            },
            ScheduleError::ShiftTooLong,
        ),
        (
            Layer {
                active_from: None,
                active_until: None,
                windows: vec![Window {
                    days: vec![],
                    from: time(9, 0, 0, 0),
                    to: time(17, 0, 0, 0),
                }],
                ..good.clone()
            },
            ScheduleError::NoWeekdays,
        ),
    ];
    for (layer, error) in cases {
        assert_eq!(layer.check(), Err(error));
    }
}

const ZONES: [&str; 3] = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"];

fn any_length() -> impl Strategy<Value = ShiftLength> {
    prop_oneof![
        (1i64..=6).prop_map(|n| ShiftLength::Minutes(n * 15)),
        (1i64..=12).prop_map(ShiftLength::Hours),
        (1i64..=3).prop_map(ShiftLength::Days),
        (1i64..=2).prop_map(ShiftLength::Weeks),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Shifts tile the range (no gap, no overlap, nothing empty), every instant's shift
    /// names who `on_call` says, and a started layer without windows leaves nobody out —
    /// across the DST changes of 2026 in three zones.
    #[test]
    fn shifts_tile_time_across_dst(
        zone_index in 0usize..3,
        start_day in 0i64..330,
        start_minute in 0i64..1440,
        length in any_length(),
        people in 1usize..4,
        offset_hours in 0i64..(24 * 20),
        probes in proptest::collection::vec(0i64..(14 * 24 * 60), 1..8),
    ) {
        let zone_name = ZONES[zone_index];
        let start = date(2026, 1, 1).at(0, 0, 0, 0)
            + Span::new().days(start_day).minutes(start_minute);
        let names: Vec<&str> = ["ana", "bo", "cy"][..people].to_vec();
        let it = schedule(zone_name, vec![rotation(start, length, &names)]);
        let from = resolve(&it.zone, start) + SignedDuration::from_hours(offset_hours);
        let to = from + SignedDuration::from_hours(14 * 24);
        let shifts = it.shifts(from, to);
        prop_assert_eq!(shifts.first().unwrap().start, from);
        prop_assert_eq!(shifts.last().unwrap().end, to);
        for pair in shifts.windows(2) {
            prop_assert_eq!(pair[0].end, pair[1].start);
            prop_assert!(pair[0].person != pair[1].person || people == 1);
        }
        for shift in &shifts {
            prop_assert!(shift.start < shift.end);
            prop_assert!(shift.person.is_some(), "{zone_name}: nobody at {}", shift.start);
        }
        for minutes in probes {
            let at = from + SignedDuration::from_mins(minutes);
            let shift = shifts.iter().find(|s| s.start <= at && at < s.end).unwrap();
            prop_assert_eq!(shift.person.as_ref(), it.on_call(at));
        }
    }

    /// A daily (or weekly) rotation hands off at the same wall-clock minute every time,
    /// unless that minute does not exist that day (then when the clock jumps).
    #[test]
    fn wall_clock_handoffs_stay_put(
        zone_index in 0usize..3,
        start_day in 0i64..300,
        hour in 0i8..24,
        minute in prop_oneof![Just(0i8), Just(30i8)],
        days in 1i64..3,
    ) {
        let zone_name = ZONES[zone_index];
        let start = date(2026, 1, 1).at(hour, minute, 0, 0) + Span::new().days(start_day);
        let names = ["ana", "bo", "cy"];
        let layer = rotation(start, ShiftLength::Days(days), &names[..2]);
        let it = schedule(zone_name, vec![layer.clone()]);
        let from = resolve(&it.zone, start);
        let to = from + SignedDuration::from_hours(24 * 70);
        for shift in it.shifts(from, to).iter().skip(1) {
            let wall = shift.start.to_zoned(it.zone.clone());
            let intended = wall.date().to_datetime(time(hour, minute, 0, 0));
            prop_assert!(
                (wall.hour(), wall.minute()) == (hour, minute)
                    || resolve(&it.zone, intended) == shift.start,
                "{zone_name}: handoff at {wall}, wanted {hour:02}:{minute:02}"
            );
        }
    }
}

#[test]
fn a_layer_takes_part_only_in_its_active_range() {
    // A daily rotation that joins on Friday 6 March 2026 at 09:00 and leaves on Sunday the
    // 29th at 02:30 Berlin time (a time the clock skips that night: it leaves when the clock
    // jumps), over a weekly base layer. Turns count from the rotation's own start.
    let mut daily = rotation(
        date(2026, 3, 2).at(9, 0, 0, 0),
        ShiftLength::Days(1),
        &["ana", "bo"],
    );
    daily.active_from = Some(date(2026, 3, 6).at(9, 0, 0, 0));
    daily.active_until = Some(date(2026, 3, 29).at(2, 30, 0, 0));
    let base = rotation(
        date(2026, 3, 2).at(9, 0, 0, 0),
        ShiftLength::Weeks(52),
        &["cleo"],
    );
    let it = schedule("Europe/Berlin", vec![base, daily]);
    let cases = [
        ("2026-03-05T12:00:00Z", Some("cleo")), // before it joins
        ("2026-03-06T08:00:00Z", Some("ana")),  // day 4 from the 2nd: ana
        ("2026-03-07T08:00:00Z", Some("bo")),
        ("2026-03-29T00:59:59Z", Some("ana")),  // day 26
        ("2026-03-29T01:00:00Z", Some("cleo")), // the clock jumps: it has left
    ];
    for (at, who) in cases {
        assert_eq!(it.on_call(ts(at)).map(String::as_str), who, "{at}");
    }
    let shifts = it.shifts(ts("2026-03-05T00:00:00Z"), ts("2026-03-30T00:00:00Z"));
    assert_eq!(shifts.first().unwrap().end, ts("2026-03-06T08:00:00Z"));
    assert_eq!(shifts.last().unwrap().start, ts("2026-03-29T01:00:00Z"));
    let mut backwards = rotation(
        date(2026, 3, 2).at(9, 0, 0, 0),
        ShiftLength::Days(1),
        &["a"],
    );
    backwards.active_from = Some(date(2026, 3, 6).at(9, 0, 0, 0));
    backwards.active_until = Some(date(2026, 3, 6).at(9, 0, 0, 0));
    assert_eq!(backwards.check(), Err(ScheduleError::ActiveBackwards));
}

#[test]
fn a_nobody_turn_leaves_the_layer_empty() {
    let nights = rotation(
        date(2026, 3, 2).at(0, 0, 0, 0),
        ShiftLength::Days(1),
        &["ana", NOBODY, "bo"],
    );
    let base = rotation(
        date(2026, 3, 2).at(0, 0, 0, 0),
        ShiftLength::Weeks(1),
        &["cleo"],
    );
    let alone = schedule("UTC", vec![nights.clone()]);
    assert_eq!(alone.on_call(ts("2026-03-03T12:00:00Z")), None, "nobody");
    assert_eq!(
        alone
            .on_call(ts("2026-03-04T12:00:00Z"))
            .map(String::as_str),
        Some("bo")
    );
    let layered = schedule("UTC", vec![base, nights]);
    assert_eq!(
        layered
            .on_call(ts("2026-03-03T12:00:00Z"))
            .map(String::as_str),
        Some("cleo"),
        "the lower layer shows through"
    );
    let shifts = alone.shifts(ts("2026-03-02T00:00:00Z"), ts("2026-03-05T00:00:00Z"));
    let people: Vec<Option<&str>> = shifts.iter().map(|it| it.person.as_deref()).collect();
    assert_eq!(people, [Some("ana"), None, Some("bo")]);
}
