//! Reads a drawn chart back and checks that the run's data is in it: for every series one
//! line through as many points as it has rows with status "ok" and one dot per row, a bar
//! per other timed row, a mark per target bound. The old hand-drawn chart had axes and a
//! legend but no data; this is what would have caught it.

use crate::draw::{series_colour, verdict_colour, BAR, BASELINE_BAR};
use crate::model::Chart;
use plotters::style::{Color, RGBColor};
use std::collections::HashMap;

/// One SVG element: its name and attributes (values as written, not unescaped).
struct Element {
    name: String,
    attrs: HashMap<String, String>,
}

impl Element {
    fn attr(&self, key: &str) -> &str {
        self.attrs.get(key).map_or("", String::as_str)
    }

    fn opaque(&self) -> bool {
        self.attr("opacity").parse::<f64>().map_or(true, |o| o >= 1.0)
    }

    fn points(&self) -> Vec<(f64, f64)> {
        self.attr("points")
            .split_whitespace()
            .filter_map(|xy| xy.split_once(','))
            .filter_map(|(x, y)| Some((x.parse().ok()?, y.parse().ok()?)))
            .collect()
    }

    fn num(&self, key: &str) -> f64 {
        self.attr(key).parse().unwrap_or(f64::NAN)
    }
}

/// The start tags of an SVG document (enough for what plotters writes: no CDATA, and
/// attribute values quoted with `"`).
fn elements(svg: &str) -> Vec<Element> {
    let mut out = Vec::new();
    for tag in svg.split('<').skip(1) {
        let Some(tag) = tag.split('>').next() else { continue };
        if tag.starts_with(['/', '?', '!']) {
            continue;
        }
        let (name, mut rest) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
        let mut attrs = HashMap::new();
        while let Some((key, after)) = rest.split_once("=\"") {
            let Some((value, next)) = after.split_once('"') else { break };
            attrs.insert(key.trim().to_string(), value.to_string());
            rest = next;
        }
        out.push(Element { name: name.trim_end_matches('/').to_string(), attrs });
    }
    out
}

fn hex(c: RGBColor) -> String {
    let (r, g, b) = c.rgb();
    format!("#{r:02X}{g:02X}{b:02X}")
}

/// What was found, for the log; or every way in which the chart falls short.
pub fn check(chart: &Chart, svg: &str) -> Result<String, Vec<String>> {
    let els = elements(svg);
    let mut errors = Vec::new();
    let lines = |colour: &str| -> Vec<&Element> {
        els.iter().filter(|e| e.name == "polyline" && e.opaque() && e.attr("stroke") == colour).collect()
    };
    if !els.iter().any(|e| e.name == "svg") {
        errors.push("not an SVG document".to_string());
    }

    for (i, s) in chart.series.iter().enumerate() {
        let colour = hex(series_colour(i));
        let n = s.points.len();
        let found = lines(&colour);
        match found.as_slice() {
            [line] if line.points().len() == n => {}
            [line] => errors.push(format!(
                "series {} ({colour}): its line has {} points, the JSON {n} rows with status ok",
                s.family,
                line.points().len()
            )),
            _ => errors.push(format!("series {} ({colour}): {} lines drawn, not one", s.family, found.len())),
        }
        let dots: Vec<&Element> =
            els.iter().filter(|e| e.name == "circle" && e.opaque() && e.attr("fill") == colour).collect();
        let mut xs: Vec<f64> = dots.iter().map(|d| d.num("cx")).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        if dots.len() != n || xs.len() != n {
            errors.push(format!(
                "series {} ({colour}): {} dots at {} sizes drawn, the JSON has {n} rows with status ok",
                s.family,
                dots.len(),
                xs.len()
            ));
        }
        if !svg_has_text(svg, &s.label) {
            errors.push(format!("series {}: no legend entry {:?}", s.family, s.label));
        }
    }

    let bar_fills = [hex(BAR), hex(BASELINE_BAR)];
    let bars = els
        .iter()
        .filter(|e| e.name == "rect" && bar_fills.iter().any(|f| e.attr("fill") == f))
        .filter(|e| e.num("width") > 0.0 && e.num("height") > 0.0)
        .count();
    if bars != chart.bars.len() {
        errors
            .push(format!("{bars} bars drawn, the JSON has {} other rows with status ok", chart.bars.len()));
    }

    let mut mark_colours: Vec<String> = chart.marks.iter().map(|m| hex(verdict_colour(&m.verdict))).collect();
    mark_colours.sort();
    mark_colours.dedup();
    let marks: usize = mark_colours.iter().map(|c| lines(c).len()).sum();
    if marks != chart.marks.len() {
        errors.push(format!("{marks} target marks drawn, {} target bounds in the JSON", chart.marks.len()));
    }
    for t in &chart.targets {
        if !svg_has_text(svg, &format!("[{}] {}", t.number, t.measure)) {
            errors.push(format!("target {} is not in the table", t.id));
        }
    }
    errors.extend(chart.disagreements.iter().cloned());

    let points: usize = chart.series.iter().map(|s| s.points.len()).sum();
    if errors.is_empty() {
        Ok(format!(
            "{} series ({points} points), {bars} bars, {marks} target marks, {} targets",
            chart.series.len(),
            chart.targets.len()
        ))
    } else {
        Err(errors)
    }
}

/// Whether `text` is the content of a text element (escaped as the SVG back end escapes it).
fn svg_has_text(svg: &str, text: &str) -> bool {
    let escaped = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    svg.contains(&format!(">\n{escaped}\n</text>"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draw::svg;

    const FIXTURE: &str = include_str!("../testdata/small.json");

    #[test]
    fn a_drawn_chart_has_its_data() {
        let chart = Chart::from_json(FIXTURE).unwrap();
        let svg = svg(&chart).unwrap();
        assert_eq!(check(&chart, &svg), Ok("3 series (8 points), 3 bars, 3 target marks, 4 targets".into()));
    }

    #[test]
    fn the_committed_results_draw_completely() {
        let chart = Chart::from_json(include_str!("../../../results/bench.json")).unwrap();
        let svg = svg(&chart).unwrap();
        assert!(check(&chart, &svg).is_ok(), "{:?}", check(&chart, &svg));
    }

    #[test]
    fn a_chart_without_data_fails() {
        let chart = Chart::from_json(FIXTURE).unwrap();
        let svg = svg(&chart).unwrap();
        // Axes, legend and table, no lines, dots or bars: the old chart's fault.
        let data = [
            hex(series_colour(0)),
            hex(series_colour(1)),
            hex(series_colour(2)),
            hex(BAR),
            hex(BASELINE_BAR),
        ];
        let empty: String = svg
            .lines()
            .filter(|l| {
                !(l.starts_with("<polyline") || l.starts_with("<circle") || l.starts_with("<rect"))
                    || !data.iter().any(|c| l.contains(c.as_str()))
            })
            .collect::<Vec<_>>()
            .join("\n");
        let errors = check(&chart, &empty).unwrap_err();
        assert_eq!(errors.len(), 3 * 2 + 1, "{errors:#?}");
    }

    #[test]
    fn a_missing_point_fails() {
        // The chart of a run, checked against a run with one more ok row.
        let chart = Chart::from_json(FIXTURE).unwrap();
        let svg = svg(&chart).unwrap();
        let more = FIXTURE.replace(
            r#""status": "failed", "note": "no socket"}"#,
            r#""status": "ok", "median_us": 70, "min_us": 60, "max_us": 80}"#,
        );
        let errors = check(&Chart::from_json(&more).unwrap(), &svg).unwrap_err();
        assert!(
            errors.iter().any(|e| e.contains("series socket_rt") && e.contains("2 points")),
            "{errors:#?}"
        );
    }

    #[test]
    fn a_series_of_one_ok_row_is_drawn() {
        let one = FIXTURE.replace(r#""median_us": 48, "p99_us": 69, "min_us": 46, "max_us": 50,"#, "").replace(
            r#""id": "socket_rt_1k", "label": "baseline: SOCK_SEQPACKET ping-pong", "kind": "round trip", "bytes": 1024, "status": "ok""#,
            r#""id": "socket_rt_1k", "label": "baseline: SOCK_SEQPACKET ping-pong", "kind": "round trip", "bytes": 1024, "status": "failed""#,
        );
        let chart = Chart::from_json(&one).unwrap();
        assert_eq!(chart.series[1].points.len(), 1);
        assert_eq!(
            check(&chart, &svg(&chart).unwrap()),
            Ok("3 series (7 points), 3 bars, 3 target marks, 4 targets".into())
        );
    }

    #[test]
    fn parses_plotters_tags() {
        let els = elements(
            "<svg width=\"2\">\n<polyline fill=\"none\" opacity=\"1\" points=\"1,2 3,4 \"/>\n</svg>",
        );
        assert_eq!(els.len(), 2);
        assert_eq!(els[1].name, "polyline");
        assert_eq!(els[1].points(), vec![(1.0, 2.0), (3.0, 4.0)]);
        assert!(els[1].opaque());
    }
}
