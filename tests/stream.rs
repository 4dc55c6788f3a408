//! `sessions` computes each session's answer while reading when events
//! arrive in time order, and reads again keeping events when they do not.
//! Both must give exactly the answer of the stored path (what `report`
//! uses for its pages).

use crate::util::{sessionstat, Dir};

#[test]
fn time_ordered_and_shuffled_inputs_give_the_stored_answer() {
    let d = Dir::new();
    let log = d.path("log.csv").display().to_string();
    sessionstat(&[
        "generate", "--out", &log, "--users", "25", "--days", "3", "--seed", "9", "--quiet",
    ])
    .ok();
    let text = d.read("log.csv");
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    // The first half in order, the second reversed: streaming reads the
    // first file, then meets sessions going back in time in the second.
    let half = rows.len() / 2;
    let mut second: Vec<&str> = rows[half..].to_vec();
    second.reverse();
    d.write(
        "parts/a.csv",
        format!("{header}\n{}\n", rows[..half].join("\n")),
    );
    d.write("parts/b.csv", format!("{header}\n{}\n", second.join("\n")));
    let parts = d.path("parts").display().to_string();

    for window in [
        vec![],
        vec![
            "--start",
            "2021-03-26T06:00:00Z",
            "--end",
            "2021-03-27T18:30:00Z",
        ],
    ] {
        let ask = |input: &str| {
            let mut args = vec![
                "sessions",
                "--input",
                input,
                "--session-count",
                "1000",
                "--idle-after",
                "7m",
            ];
            args.extend(&window);
            sessionstat(&args).ok()
        };
        let in_order = ask(&log);
        let shuffled = ask(&parts);
        let out = d.path("r").display().to_string();
        let mut args = vec![
            "report",
            "--input",
            &log,
            "--out",
            &out,
            "--session-count",
            "1000",
            "--idle-after",
            "7m",
        ];
        args.extend(&window);
        sessionstat(&args).ok();
        let stored = d.read("r/json/page-00000.json");
        let total = |json: &str| {
            serde_json::from_str::<serde_json::Value>(json).unwrap()["totalCount"]
                .as_u64()
                .unwrap()
        };
        assert!(total(&stored) > 20, "the case must have sessions: {stored}");
        assert_eq!(
            in_order, stored,
            "window {window:?}: streaming differs from the stored path"
        );
        assert_eq!(
            shuffled, stored,
            "window {window:?}: the shuffled input differs"
        );
    }
}
