//! bench-chart: draws a libneutrino benchmark run (bench.json) as an SVG chart, or checks
//! that a drawn chart shows the run's data.
//!
//!   bench-chart results/bench.json results/bench.svg
//!   bench-chart --check results/bench.json results/bench.svg

mod check;
mod draw;
mod model;

use std::process::ExitCode;

fn run(check: bool, json_path: &str, svg_path: &str) -> Result<(), String> {
    let json = std::fs::read_to_string(json_path).map_err(|e| format!("{json_path}: {e}"))?;
    let chart = model::Chart::from_json(&json).map_err(|e| format!("{json_path}: {e}"))?;
    if check {
        let svg = std::fs::read_to_string(svg_path).map_err(|e| format!("{svg_path}: {e}"))?;
        let found = check::check(&chart, &svg)
            .map_err(|errors| format!("{svg_path} does not show {json_path}:\n  {}", errors.join("\n  ")))?;
        println!("bench-chart: {svg_path}: {found}");
        return Ok(());
    }
    for row in &chart.skipped {
        eprintln!("bench-chart: not drawn (status not ok): {row}");
    }
    for d in &chart.disagreements {
        eprintln!("bench-chart: warning: {d}");
    }
    let svg = draw::svg(&chart).map_err(|e| format!("drawing {svg_path}: {e}"))?;
    std::fs::write(svg_path, svg).map_err(|e| format!("{svg_path}: {e}"))?;
    println!(
        "bench-chart: wrote {svg_path}: {} rows drawn, {} target marks",
        chart.drawn_rows(),
        chart.marks.len()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (check, paths) = match args.split_first() {
        Some((flag, rest)) if flag == "--check" => (true, rest),
        _ => (false, args.as_slice()),
    };
    let [json, svg] = paths else {
        eprintln!("usage: bench-chart [--check] BENCH.json CHART.svg");
        return ExitCode::from(2);
    };
    match run(check, json, svg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-chart: {e}");
            ExitCode::FAILURE
        }
    }
}
