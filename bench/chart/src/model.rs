//! What the chart shows, taken from a bench.json: the size series (one line per family of
//! rows measured at several message sizes), the other timed rows (bars), the targets with
//! their verdicts and, where a target compares a row with a bound in microseconds, that
//! bound (a mark on the chart).

use serde_json::Value;

/// One measured row: medians and the spread of the repetitions, in µs per operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub id: String,
    pub bytes: f64,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// A family of rows measured at several message sizes (`msg_rt_process_16`, `_256`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub family: String,
    pub label: String,
    /// The rows whose status is "ok", by size.
    pub points: Vec<Point>,
}

/// A timed row that is not part of a size series.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub baseline: bool,
    pub point: Point,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// How the chart refers to it: [1], [2], …
    pub number: usize,
    pub id: String,
    pub measure: String,
    pub wanted: String,
    pub result: String,
    pub verdict: String,
}

/// Where a target's bound is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum At {
    /// On series `.0` at message size `.1`.
    Size(usize, f64),
    /// On bar `.0`.
    Bar(usize),
}

/// A target's bound on the row it judges, in µs per operation: the row's median passes
/// this part of the target when it is at most `bound_us`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub target: usize,
    pub at: At,
    pub bound_us: f64,
    pub verdict: String,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub subtitle: String,
    pub series: Vec<Series>,
    pub bars: Vec<Bar>,
    pub targets: Vec<Target>,
    pub marks: Vec<Mark>,
    /// Rows of figures only (CPU use, …): "label: name=value, …".
    pub figures: Vec<String>,
    /// Rows not drawn because their status is not "ok": "id: status (note)".
    pub skipped: Vec<String>,
    /// Targets whose drawn bounds disagree with the verdict the benchmark gave.
    pub disagreements: Vec<String>,
}

/// One part of a target, as bench.c's evaluate() judges it, in terms of medians.
enum Bound {
    /// At most `.1` times the median of row `.0`.
    Ratio(&'static str, f64),
    /// At most the median of row `.0` plus `.1` µs.
    Plus(&'static str, f64),
    /// At most the median of row `.0` plus its noise: the larger of its spread (max − min)
    /// and 10 % of its median.
    Noise(&'static str),
    /// At most `.0` µs per operation.
    Us(f64),
}

/// The targets bench.c judges from medians: the row judged, its bounds, and whether those
/// bounds are the whole target (`idle_conns` also bounds memory, which is no time). The
/// JSON states targets only as text, so this mirrors bench.c; `disagreements` and the
/// test on the committed results catch a drift between the two.
const GEOMETRY: &[(&str, &str, &[Bound], bool)] = &[
    (
        "rt_process_16",
        "msg_rt_process_16",
        &[Bound::Ratio("socket_rt_16", 1.0 / 20.0), Bound::Ratio("spin_rt_16", 8.0)],
        true,
    ),
    ("rt_thread_16", "msg_rt_thread_16", &[Bound::Ratio("spin_rt_16", 10.0)], true),
    ("rt_process_64k", "msg_rt_process_64k", &[Bound::Ratio("socket_rt_64k", 1.0 / 10.0)], true),
    ("rt_process_4k", "msg_rt_process_4k", &[Bound::Ratio("msg_rt_process_16", 2.0)], true),
    ("rt_process_16k", "msg_rt_process_16k", &[Bound::Ratio("msg_rt_process_16", 2.0)], true),
    ("rt_process_64k_floor", "msg_rt_process_64k", &[Bound::Ratio("spin_rt_64k", 3.0)], true),
    ("rt_thread_64k_floor", "msg_rt_thread_64k", &[Bound::Ratio("spin_rt_64k", 3.0)], true),
    // ≥ 10 GB/s (10^9 bytes) for 1 MiB.
    ("bulk_1m", "msg_bulk_1m", &[Bound::Us(1048576.0 / 10e3)], true),
    // ≥ 2 million per second.
    ("pulses", "pulse_oneway_process", &[Bound::Us(0.5)], true),
    ("idle_conns", "msg_rt_idle_1000_16", &[Bound::Noise("msg_rt_idle_before_16")], false),
    ("pinned", "msg_rt_pinned_16", &[Bound::Ratio("pipe_pinned_16", 1.5)], true),
    ("busy", "msg_rt_busy_16", &[Bound::Ratio("socket_busy_16", 1.5)], true),
    ("resmgr_read", "resmgr_read_awake_64", &[Bound::Plus("fuse_read_awake_64", 2.0)], true),
];

fn text(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Null => "?".into(),
        other => other.to_string(),
    }
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v[key].as_f64()
}

/// A figure as the chart prints it: whole above 100, else at most 3 decimals.
pub fn short(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}").trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// `msg_rt_process_16` → `msg_rt_process`; an id without a size suffix (`16`, `1k`, `64k`,
/// `1m`) is its own family.
pub fn family(id: &str) -> &str {
    let is_size = |s: &str| {
        let digits = s.strip_suffix(['k', 'm']).unwrap_or(s);
        !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit())
    };
    match id.rsplit_once('_') {
        Some((head, size)) if !head.is_empty() && is_size(size) => head,
        _ => id,
    }
}

fn point(row: &Value) -> Option<Point> {
    Some(Point {
        id: text(row, "id"),
        bytes: num(row, "bytes").unwrap_or(0.0),
        median: num(row, "median_us").filter(|m| *m > 0.0)?,
        min: num(row, "min_us")?,
        max: num(row, "max_us")?,
    })
}

fn titles(run: &Value) -> (String, String) {
    let mode = text(run, "mode");
    let reps = match num(run, "reps") {
        Some(1.0) => "1 repetition".to_string(),
        Some(r) => format!("{r} repetitions"),
        None => "? repetitions".to_string(),
    };
    let secs = num(run, "seconds_per_rep").map_or("?".into(), |s| format!("{s}"));
    let load = |k| num(run, k).map_or("?".into(), |l| format!("{l:.2}"));
    let busy =
        [num(run, "loadavg_start"), num(run, "loadavg_end")].iter().any(|l| l.is_some_and(|l| l > 1.0));
    (
        format!("libneutrino IPC benchmark: {mode} run, {reps} of {secs} s per row"),
        format!(
            "{}, {} CPU(s), Linux {}; load average {} at start, {} at end{}",
            text(run, "machine"),
            text(run, "cpus"),
            text(run, "kernel"),
            load("loadavg_start"),
            load("loadavg_end"),
            if busy { " (a busy machine: figures unreliable)" } else { "" }
        ),
    )
}

impl Chart {
    pub fn from_json(src: &str) -> Result<Chart, String> {
        let run: Value = serde_json::from_str(src).map_err(|e| format!("not JSON: {e}"))?;
        let rows = run["rows"].as_array().ok_or("no \"rows\" array")?;
        let (title, subtitle) = titles(&run);
        let mut chart = Chart { title, subtitle, ..Chart::default() };

        // Families with rows at two sizes or more are series, whatever each row's status.
        let mut families: Vec<(&str, Vec<f64>)> = Vec::new();
        for row in rows.iter().filter(|r| r["kind"] != "figures") {
            let fam = family(row["id"].as_str().unwrap_or(""));
            let bytes = num(row, "bytes").unwrap_or(0.0);
            match families.iter_mut().find(|(f, _)| *f == fam) {
                Some((_, sizes)) if !sizes.contains(&bytes) => sizes.push(bytes),
                Some(_) => {}
                None => families.push((fam, vec![bytes])),
            }
        }
        let is_series = |fam: &str| families.iter().any(|(f, s)| *f == fam && s.len() >= 2);

        for row in rows {
            let id = text(row, "id");
            let status = text(row, "status");
            if status != "ok" {
                let note = row["note"].as_str().map(|n| format!(" ({n})")).unwrap_or_default();
                chart.skipped.push(format!("{id}: {status}{note}"));
                continue;
            }
            let Some(p) = point(row) else {
                if let Some(figs) = row["figures"].as_object() {
                    let figs: Vec<String> = figs
                        .iter()
                        .map(|(k, v)| format!("{k}={}", v.as_f64().map_or(v.to_string(), short)))
                        .collect();
                    chart.figures.push(format!("{}: {}", text(row, "label"), figs.join(", ")));
                }
                continue;
            };
            let fam = family(&id);
            if is_series(fam) {
                match chart.series.iter_mut().find(|s| s.family == fam) {
                    Some(s) => s.points.push(p),
                    None => chart.series.push(Series {
                        family: fam.to_string(),
                        label: text(row, "label"),
                        points: vec![p],
                    }),
                }
            } else {
                let label = text(row, "label");
                let baseline = label.starts_with("baseline") || label.starts_with("floor");
                chart.bars.push(Bar { label, baseline, point: p });
            }
        }
        for s in &mut chart.series {
            s.points.sort_by(|a, b| a.bytes.total_cmp(&b.bytes));
        }

        for (i, t) in run["targets"].as_array().into_iter().flatten().enumerate() {
            chart.targets.push(Target {
                number: i + 1,
                id: text(t, "id"),
                measure: text(t, "measure"),
                wanted: text(t, "wanted"),
                result: text(t, "result"),
                verdict: text(t, "verdict"),
            });
        }
        chart.mark_targets();
        Ok(chart)
    }

    /// Where row `id` is drawn, and its point.
    fn find(&self, id: &str) -> Option<(At, &Point)> {
        for (i, s) in self.series.iter().enumerate() {
            if let Some(p) = s.points.iter().find(|p| p.id == id) {
                return Some((At::Size(i, p.bytes), p));
            }
        }
        self.bars.iter().enumerate().find(|(_, b)| b.point.id == id).map(|(i, b)| (At::Bar(i), &b.point))
    }

    fn mark_targets(&mut self) {
        let mut marks = Vec::new();
        for t in &self.targets {
            let Some((_, row, bounds, whole)) = GEOMETRY.iter().find(|g| g.0 == t.id) else { continue };
            let Some((at, p)) = self.find(row) else { continue };
            let median = p.median;
            let us: Option<Vec<f64>> = bounds
                .iter()
                .map(|b| match *b {
                    Bound::Ratio(base, r) => self.find(base).map(|(_, b)| b.median * r),
                    Bound::Plus(base, d) => self.find(base).map(|(_, b)| b.median + d),
                    Bound::Noise(base) => {
                        self.find(base).map(|(_, b)| b.median + (b.max - b.min).max(0.1 * b.median))
                    }
                    Bound::Us(v) => Some(v),
                })
                .collect();
            let Some(us) = us else { continue };
            let pass = us.iter().all(|b| median <= *b);
            if (t.verdict == "PASS" && !pass) || (t.verdict == "MISS" && pass && *whole) {
                self.disagreements.push(format!(
                    "target {} ({}): the benchmark says {}, its bounds drawn here say {}",
                    t.id,
                    t.measure,
                    t.verdict,
                    if pass { "PASS" } else { "MISS" }
                ));
            }
            for bound_us in us {
                marks.push(Mark { target: t.number, at, bound_us, verdict: t.verdict.clone() });
            }
        }
        self.marks = marks;
    }

    /// Rows drawn: points of the series plus bars.
    pub fn drawn_rows(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum::<usize>() + self.bars.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../testdata/small.json");

    #[test]
    fn figures_print_short() {
        assert_eq!(short(196308.4), "196308");
        assert_eq!(short(9.99679), "9.997");
        assert_eq!(short(0.0857627), "0.086");
        assert_eq!(short(0.0), "0");
        assert_eq!(short(1.5), "1.5");
    }

    #[test]
    fn families() {
        assert_eq!(family("msg_rt_process_16"), "msg_rt_process");
        assert_eq!(family("socket_rt_64k"), "socket_rt");
        assert_eq!(family("msg_bulk_1m"), "msg_bulk");
        assert_eq!(family("msg_rt_idle_1000_16"), "msg_rt_idle_1000");
        assert_eq!(family("pulse_oneway_process"), "pulse_oneway_process");
        assert_eq!(family("idle_server"), "idle_server");
        assert_eq!(family("_16"), "_16");
        assert_eq!(family("x_km"), "x_km");
    }

    #[test]
    fn fixture_maps_to_series_bars_and_marks() {
        let c = Chart::from_json(FIXTURE).unwrap();
        assert_eq!(c.title, "libneutrino IPC benchmark: quick run, 5 repetitions of 0.05 s per row");
        assert_eq!(
            c.subtitle,
            "x86_64, 2 CPU(s), Linux 6.1.0; load average 1.50 at start, 0.20 at end (a busy machine: figures unreliable)"
        );
        let fams: Vec<(&str, Vec<f64>)> = c
            .series
            .iter()
            .map(|s| (s.family.as_str(), s.points.iter().map(|p| p.bytes).collect()))
            .collect();
        // The failed 64 KiB socket row leaves a hole; the rows come sorted by size.
        assert_eq!(
            fams,
            vec![
                ("msg_rt_process", vec![16.0, 1024.0, 65536.0]),
                ("socket_rt", vec![16.0, 1024.0]),
                ("spin_rt", vec![16.0, 1024.0, 65536.0]),
            ]
        );
        assert_eq!(c.series[0].label, "MsgSend round trip, 2 processes");
        assert_eq!(c.series[0].points[0].median, 1.5);
        assert_eq!((c.series[0].points[0].min, c.series[0].points[0].max), (1.4, 1.7));

        let bars: Vec<(&str, bool)> = c.bars.iter().map(|b| (b.point.id.as_str(), b.baseline)).collect();
        assert_eq!(bars, vec![("msg_bulk_1m", false), ("pipe_pinned_16", true), ("msg_rt_pinned_16", false)]);
        assert_eq!(c.drawn_rows(), 11);
        assert_eq!(c.figures, vec!["server idle in MsgReceive: cpu_percent=0, wakeups_per_s=10"]);
        assert_eq!(
            c.skipped,
            vec!["socket_rt_64k: failed (no socket)", "fuse_read_64: skipped (needs root)"]
        );

        assert_eq!(c.targets.len(), 4);
        assert_eq!(c.targets[3].verdict, "MISS");
        // [1]: two bounds at 16 B on the 2-process series (socket / 20 = 3.2, floor × 8 = 2);
        // [2]: none (the 64 KiB socket row failed); [3]: 1.5 × the pipe on the pinned bar;
        // [4] has no geometry (reported only).
        let marks: Vec<(usize, At, f64)> = c.marks.iter().map(|m| (m.target, m.at, m.bound_us)).collect();
        assert_eq!(
            marks,
            vec![(1, At::Size(0, 16.0), 3.2), (1, At::Size(0, 16.0), 2.0), (3, At::Bar(2), 9.0)]
        );
        assert!(c.disagreements.is_empty(), "{:?}", c.disagreements);
    }

    #[test]
    fn a_verdict_the_bounds_contradict_is_reported() {
        let json = FIXTURE.replace("\"verdict\": \"PASS\"", "\"verdict\": \"MISS\"");
        let c = Chart::from_json(&json).unwrap();
        assert_eq!(c.disagreements.len(), 2, "{:?}", c.disagreements);
        assert!(c.disagreements[0].starts_with("target rt_process_16 "));
    }

    #[test]
    fn rows_make_non_empty_series() {
        // Any ok timed row is drawn, in a series or as a bar.
        let c = Chart::from_json(FIXTURE).unwrap();
        assert!(c.series.iter().all(|s| !s.points.is_empty()));
        let ok_timed = FIXTURE.matches("\"median_us\"").count();
        assert_eq!(c.drawn_rows(), ok_timed);
    }

    #[test]
    fn the_committed_results_agree_with_the_geometry() {
        // Whatever run is committed: its verdicts agree with the bounds drawn, the size
        // families are series, and every target judged from drawn rows is marked.
        let c = Chart::from_json(include_str!("../../../results/bench.json")).unwrap();
        assert!(c.disagreements.is_empty(), "{:?}", c.disagreements);
        let fams: Vec<&str> = c.series.iter().map(|s| s.family.as_str()).collect();
        for fam in ["msg_rt_process", "msg_rt_thread", "socket_rt", "spin_rt"] {
            assert!(fams.contains(&fam), "{fam} is not a series: {fams:?}");
        }
        for t in c.targets.iter().filter(|t| t.verdict == "PASS" || t.verdict == "MISS") {
            let geometry = GEOMETRY.iter().any(|g| g.0 == t.id);
            assert_eq!(geometry, c.marks.iter().any(|m| m.target == t.number), "target {}", t.id);
        }
    }

    #[test]
    fn not_a_bench_json() {
        assert!(Chart::from_json("{").is_err());
        assert!(Chart::from_json("{}").unwrap_err().contains("rows"));
    }
}
