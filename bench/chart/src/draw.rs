//! The chart as SVG, drawn with plotters: a header (machine, run), the size series
//! (log-log), the other timed rows as horizontal bars, the targets' table and notes.
//!
//! `check.rs` finds the data again in the SVG by colour: every series has a colour of its
//! own, bars and target marks colours no legend swatch uses, and legend swatches are
//! rectangles, never lines or dots.

use crate::model::{short, At, Chart, Mark};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub const WIDTH: u32 = 1280;
const LEGEND_W: u32 = 330;
const FONT: &str = "sans-serif";

const SERIES_PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(127, 127, 127),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(255, 127, 14),
];
pub const BAR: RGBColor = RGBColor(78, 121, 167);
pub const BASELINE_BAR: RGBColor = RGBColor(186, 176, 172);
const PASS: RGBColor = RGBColor(26, 127, 55);
const MISS: RGBColor = RGBColor(207, 34, 46);
const UNJUDGED: RGBColor = RGBColor(110, 119, 129);
const INK: RGBColor = RGBColor(36, 41, 47);

/// Series `i`'s colour: the palette, then hues spread by the golden angle.
pub fn series_colour(i: usize) -> RGBColor {
    SERIES_PALETTE.get(i).copied().unwrap_or_else(|| {
        let (r, g, b) = HSLColor((i as f64 * 0.618_034).fract(), 0.6, 0.4).rgb();
        RGBColor(r, g, b)
    })
}

pub fn verdict_colour(verdict: &str) -> RGBColor {
    match verdict {
        "PASS" => PASS,
        "MISS" => MISS,
        _ => UNJUDGED,
    }
}

/// 16 → "16 B", 65536 → "64 KiB".
fn size_text(b: f64) -> String {
    match b {
        b if b >= 1048576.0 => format!("{} MiB", b / 1048576.0),
        b if b >= 1024.0 => format!("{} KiB", b / 1024.0),
        b => format!("{b} B"),
    }
}

/// A log axis that holds `values` with some room either side; `fallback` when empty.
fn log_range(values: impl Iterator<Item = f64>, below: f64, above: f64, fallback: (f64, f64)) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold((f64::INFINITY, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi > 0.0 {
        (lo / below, hi * above)
    } else {
        fallback
    }
}

/// Cut `s` into lines of at most `width` characters at spaces.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in s.split(' ') {
        let line = lines.last_mut().expect("never empty");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

fn notes(chart: &Chart) -> Vec<(String, RGBColor)> {
    let mut out = Vec::new();
    let mut add = |head: &str, items: &[String], colour| {
        if !items.is_empty() {
            for line in wrap(&format!("{head} {}", items.join("; ")), 190) {
                out.push((line, colour));
            }
        }
    };
    add("Figures:", &chart.figures, INK);
    add("Not drawn (status not ok):", &chart.skipped, INK);
    add("Warning:", &chart.disagreements, MISS);
    out
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Res = Result<(), Box<dyn std::error::Error>>;

fn text_style(size: u32, colour: RGBColor) -> TextStyle<'static> {
    (FONT, size).into_font().color(&colour)
}

fn bold(size: u32, colour: RGBColor) -> TextStyle<'static> {
    (FONT, size).into_font().style(FontStyle::Bold).color(&colour)
}

/// The whole chart as an SVG document.
pub fn svg(chart: &Chart) -> Result<String, Box<dyn std::error::Error>> {
    const HEADER: u32 = 64;
    const SIZES: u32 = 560;
    let bars_h = if chart.bars.is_empty() { 0 } else { 90 + 26 * chart.bars.len() as u32 };
    let table_h = if chart.targets.is_empty() { 0 } else { 40 + 19 * chart.targets.len() as u32 };
    let notes = notes(chart);
    let notes_h = 16 + 17 * notes.len() as u32;
    let height = HEADER + SIZES + bars_h + table_h + notes_h;

    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (header, rest) = root.split_vertically(HEADER);
        let (sizes, rest) = rest.split_vertically(SIZES);
        let (bars, rest) = rest.split_vertically(bars_h);
        let (table, foot) = rest.split_vertically(table_h);

        header.draw(&Text::new(chart.title.clone(), (16, 14), bold(22, INK)))?;
        header.draw(&Text::new(chart.subtitle.clone(), (16, 42), text_style(15, INK)))?;
        size_panel(&sizes, chart)?;
        if !chart.bars.is_empty() {
            bar_panel(&bars, chart)?;
        }
        if !chart.targets.is_empty() {
            target_table(&table, chart)?;
        }
        for (i, (line, colour)) in notes.iter().enumerate() {
            foot.draw(&Text::new(line.clone(), (16, 8 + 17 * i as i32), text_style(13, *colour)))?;
        }
        root.present()?;
    }
    Ok(out)
}

fn size_panel(area: &Area, chart: &Chart) -> Res {
    let (plot, legend) = area.split_horizontally(WIDTH - LEGEND_W);
    let points = || chart.series.iter().flat_map(|s| &s.points);
    let size_marks = || chart.marks.iter().filter(|m| matches!(m.at, At::Size(..)));
    let mut sizes: Vec<f64> = points().map(|p| p.bytes).collect();
    sizes.sort_by(f64::total_cmp);
    sizes.dedup();
    let (x0, x1) = log_range(sizes.iter().copied(), 1.6, 1.6, (10.0, 1e5));
    let (y0, y1) = log_range(
        points().flat_map(|p| [p.min, p.max]).chain(size_marks().map(|m| m.bound_us)),
        2.0,
        2.0,
        (0.1, 100.0),
    );

    let mut c = ChartBuilder::on(&plot)
        .caption(
            "Time per operation by message size (log-log): dots are medians, vertical lines min-max of the repetitions",
            (FONT, 16),
        )
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(70)
        .build_cartesian_2d((x0..x1).log_scale().with_key_points(sizes), (y0..y1).log_scale())?;
    c.configure_mesh()
        .x_desc("message size (each way)")
        .y_desc("µs per operation")
        .x_label_formatter(&|b| size_text(*b))
        .y_label_formatter(&|v| short(*v))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()?;

    for (i, s) in chart.series.iter().enumerate() {
        let colour = series_colour(i);
        c.draw_series(s.points.iter().map(|p| {
            PathElement::new(vec![(p.bytes, p.min), (p.bytes, p.max)], colour.mix(0.45).stroke_width(3))
        }))?;
        c.draw_series(LineSeries::new(s.points.iter().map(|p| (p.bytes, p.median)), colour.stroke_width(2)))?;
        c.draw_series(s.points.iter().map(|p| Circle::new((p.bytes, p.median), 4, colour.filled())))?;
    }
    for m in size_marks() {
        let At::Size(_, b) = m.at else { continue };
        let colour = verdict_colour(&m.verdict);
        c.draw_series([PathElement::new(
            vec![(b / 1.2, m.bound_us), (b * 1.2, m.bound_us)],
            colour.stroke_width(3),
        )])?;
        c.draw_series([mark_label(m, (b * 1.24, m.bound_us))])?;
    }

    // The legend, beside the plot.
    let swatch = |y: i32, colour: RGBColor, label: &str, half_height: i32| -> Res {
        legend.draw(&Rectangle::new([(4, y - half_height), (28, y + half_height)], colour.filled()))?;
        legend.draw(&Text::new(
            label.to_string(),
            (36, y),
            text_style(13, INK).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        Ok(())
    };
    let mut y = 50;
    for (i, s) in chart.series.iter().enumerate() {
        swatch(y, series_colour(i), &s.label, 5)?;
        y += 22;
    }
    if !chart.marks.is_empty() {
        y += 10;
        let kinds = [
            (PASS, "target bound [n] (table below): PASS"),
            (MISS, "target bound [n]: MISS"),
            (UNJUDGED, "target bound [n]: not judged in this run"),
        ];
        for (colour, label) in kinds {
            swatch(y, colour, label, 2)?;
            y += 22;
        }
        legend.draw(&Text::new(
            "a row meets a bound when its median is at or below it",
            (4, y),
            text_style(12, INK).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

fn mark_label<C>(m: &Mark, at: C) -> Text<'static, C, String> {
    Text::new(
        format!("[{}]", m.target),
        at,
        text_style(13, verdict_colour(&m.verdict)).pos(Pos::new(HPos::Left, VPos::Center)),
    )
}

fn bar_panel(area: &Area, chart: &Chart) -> Res {
    let n = chart.bars.len();
    let bar_marks =
        || chart.marks.iter().filter_map(|m| if let At::Bar(k) = m.at { Some((k, m)) } else { None });
    let (x0, x1) = log_range(
        chart
            .bars
            .iter()
            .flat_map(|b| [b.point.min, b.point.max])
            .chain(bar_marks().map(|(_, m)| m.bound_us)),
        3.0,
        4.0,
        (0.1, 100.0),
    );
    // Row k is drawn at the top when k = 0.
    let slot = |k: usize| n - 1 - k;
    let label_w = chart.bars.iter().map(|b| b.label.chars().count()).max().unwrap_or(0) as u32 * 7 + 20;
    let mut c = ChartBuilder::on(area)
        .caption(
            "Other rows: median µs per operation (bars; grey: baselines), min-max of the repetitions (lines)",
            (FONT, 16),
        )
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(label_w)
        .build_cartesian_2d((x0..x1).log_scale(), (0..n).into_segmented())?;
    c.configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(s) if *s < n => chart.bars[slot(*s)].label.clone(),
            _ => String::new(),
        })
        .x_desc("µs per operation (log)")
        .x_label_formatter(&|v| short(*v))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()?;

    for (k, b) in chart.bars.iter().enumerate() {
        let s = slot(k);
        let colour = if b.baseline { BASELINE_BAR } else { BAR };
        let mut bar = Rectangle::new(
            [(x0, SegmentValue::Exact(s)), (b.point.median, SegmentValue::Exact(s + 1))],
            colour.filled(),
        );
        bar.set_margin(4, 4, 0, 0);
        c.draw_series([bar])?;
        let mid = || SegmentValue::CenterOf(s);
        c.draw_series([PathElement::new(
            vec![(b.point.min, mid()), (b.point.max, mid())],
            INK.mix(0.6).stroke_width(2),
        )])?;
        // The value after the whisker and any target mark on the row.
        let end = bar_marks().filter(|(j, _)| *j == k).fold(b.point.max, |e, (_, m)| e.max(m.bound_us));
        c.draw_series([Text::new(
            format!("{} µs", short(b.point.median)),
            (end * 1.08, mid()),
            text_style(12, INK).pos(Pos::new(HPos::Left, VPos::Center)),
        )])?;
    }
    for (k, m) in bar_marks() {
        let s = slot(k);
        let colour = verdict_colour(&m.verdict);
        c.draw_series([PathElement::new(
            vec![(m.bound_us, SegmentValue::Exact(s)), (m.bound_us, SegmentValue::Exact(s + 1))],
            colour.stroke_width(3),
        )])?;
        c.draw_series([mark_label(m, (m.bound_us * 1.02, SegmentValue::Exact(s + 1)))])?;
    }
    Ok(())
}

fn target_table(area: &Area, chart: &Chart) -> Res {
    const COLS: [i32; 4] = [16, 330, 620, 1190];
    for (head, x) in ["Targets", "wanted", "result", "verdict"].iter().zip(COLS) {
        area.draw(&Text::new(head.to_string(), (x, 10), bold(13, INK)))?;
    }
    for (i, t) in chart.targets.iter().enumerate() {
        let y = 32 + 19 * i as i32;
        let colour = verdict_colour(&t.verdict);
        let cells = [format!("[{}] {}", t.number, t.measure), t.wanted.clone(), t.result.clone()];
        for (cell, x) in cells.into_iter().zip(COLS) {
            area.draw(&Text::new(cell, (x, y), text_style(13, INK)))?;
        }
        area.draw(&Text::new(t.verdict.clone(), (COLS[3], y), bold(13, colour)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts() {
        assert_eq!(size_text(16.0), "16 B");
        assert_eq!(size_text(65536.0), "64 KiB");
        assert_eq!(size_text(1048576.0), "1 MiB");
        assert_eq!(wrap("a bb ccc dd", 6), vec!["a bb", "ccc dd"]);
    }

    #[test]
    fn colours_are_distinct() {
        let mut all: Vec<RGBColor> = (0..40).map(series_colour).collect();
        all.extend([BAR, BASELINE_BAR, PASS, MISS, UNJUDGED, INK]);
        for (i, a) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|b| b != a), "colour {a:?} used twice");
        }
    }
}
