//! `pidin`: QNX's process and thread view, for the processes that use libneutrino.
//!
//! Each process keeps its threads' states and its connections where `pidin` can read them
//! (see `neutrino::kernel::status`); nothing is asked of the processes, so a stopped or
//! wedged one costs no wait. A user sees the processes Linux lets them inspect: their own;
//! root sees all.

use neutrino::kernel::status;
use neutrino::kernel::status::procfs as linux;
use neutrino::kernel::status::view::{self as model, Proc, Thread};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

const USAGE: &str = "usage: pidin [-p pid|name] [-P pid|name] [-F format | -f codes] [shorthand ...]
  -p pid|name   only that process
  -P pid|name   that process and its descendants
  -F format     columns as %codes, e.g. \"%a %b %N %p %J %B\" (the default)
  -f codes      the same as letters: -f abNpJB
codes: a pid, b tid, N name, p prio, J state, B blocked, h thread name, I pid-tid,
       T threads, A arguments, e ppid, U uid, o coids, [ channels
shorthands (any prefix): arguments, channels, family, fds, names, threads, users
";

/// The shorthands, as QNX's `pidin` names them (matched by prefix, first match wins).
const SHORTHANDS: &[(&str, &str)] = &[
    ("arguments", "%a %A"),
    ("channels", "%a %N %["),
    ("family", "%a %N %e"),
    ("fds", "%a %N %o %["),
    ("names", ""),
    ("threads", "%a %b %N %h %J %B"),
    ("users", "%a %N %U"),
];

const DEFAULT_FORMAT: &str = "%a %b %N %p %J %B";

struct Column {
    code: char,
    width: usize,
    title: &'static str,
    right: bool,
}

/// Codes whose value is a thread's; a format with one prints a line per thread.
const THREAD_CODES: &str = "bpJBhI";
/// Codes printed as lines of their own under the row.
const MULTI_LINE: &str = "o[";

fn column(code: char) -> Option<Column> {
    let (width, title, right) = match code {
        'a' => (8, "pid", true),
        'b' => (8, "tid", true),
        'N' => (18, "name", false),
        'p' => (4, "prio", true),
        'J' => (11, "STATE", false),
        'B' => (28, "Blocked", false),
        'h' => (20, "thread name", false),
        'I' => (17, "pid-tid", false),
        'T' => (2, "nT", true),
        'A' => (9, "Arguments", false),
        'e' => (7, "ppid", true),
        'U' => (6, "uid", true),
        'o' | '[' => (0, "", false),
        _ => return None,
    };
    Some(Column { code, width, title, right })
}

/// The columns of a `-F` format (text between codes is dropped, as QNX's does).
fn parse_format(f: &str) -> Result<Vec<Column>, String> {
    let mut cols = Vec::new();
    let mut it = f.chars();
    while let Some(c) = it.next() {
        if c == '%' {
            let code = it.next().ok_or("format ends with %")?;
            cols.push(column(code).ok_or_else(|| format!("unknown format code %{code}"))?);
        }
    }
    if cols.is_empty() {
        return Err("empty format".into());
    }
    Ok(cols)
}

fn cell(out: &mut String, col: &Column, text: &str) {
    let n = text.chars().count();
    let text: String = if col.code == 'N' && n > col.width {
        // QNX keeps the end of a long name: the program, not its directory.
        text.chars().skip(n - col.width).collect()
    } else {
        text.to_string()
    };
    if col.right {
        let _ = write!(out, "{text:>w$} ", w = col.width);
    } else {
        let _ = write!(out, "{text:<w$} ", w = col.width);
    }
}

fn value(col: &Column, p: &Proc, t: Option<&Thread>) -> String {
    let th = |f: &dyn Fn(&Thread) -> String| t.map(f).unwrap_or_default();
    match col.code {
        'a' => p.pid.to_string(),
        'b' => th(&|t| t.tid.to_string()),
        'N' => p.name(),
        'p' => th(&|t| t.prio.clone()),
        'J' => th(&|t| t.state.to_string()),
        'B' => th(&|t| t.blocked.clone()),
        'h' => th(&|t| t.name.clone()),
        'I' => th(&|t| format!("{}-{}", p.pid, t.tid)),
        'T' => p.threads.len().to_string(),
        'A' => p.args.join(" "),
        'e' => p.ppid.to_string(),
        'U' => p.uid.to_string(),
        _ => String::new(),
    }
}

/// The process's coids, one line each: coid (`s` for a side channel), server pid, chid.
fn coid_lines(p: &Proc) -> Vec<String> {
    let mut v: Vec<(u32, String)> = p
        .layout()
        .coids
        .iter()
        .filter_map(|r| {
            let coid = r.coid.load(Ordering::Relaxed).checked_sub(1)?;
            let side = coid & neutrino::kernel::abi::_NTO_SIDE_CHANNEL != 0;
            let small = coid & !neutrino::kernel::abi::_NTO_SIDE_CHANNEL;
            let line = format!(
                "\t{small:4}{} {:6} chid {}",
                if side { 's' } else { ' ' },
                r.pid.load(Ordering::Relaxed) as i32,
                r.chid.load(Ordering::Relaxed) as i32
            );
            Some((coid, line))
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, l)| l).collect()
}

/// The process's channels, one line each, QNX's way, with the clients connected.
fn channel_lines(p: &Proc, all: &[Proc]) -> Vec<String> {
    let l = p.layout();
    let mut chans: Vec<(u32, u32, u32)> = l
        .channels
        .iter()
        .filter(|r| r.chid.load(Ordering::Relaxed) != 0)
        .map(|r| {
            (
                r.chid.load(Ordering::Relaxed),
                r.flags.load(Ordering::Relaxed),
                r.pulses.load(Ordering::Relaxed),
            )
        })
        .collect();
    chans.sort();
    chans
        .into_iter()
        .map(|(chid, flags, pulses)| {
            let conns = l.conns.iter().filter(|r| {
                r.scoid.load(Ordering::Relaxed) != 0 && r.chid.load(Ordering::Relaxed) == chid
            });
            let reply: u32 = conns.clone().map(|r| r.held.load(Ordering::Relaxed).count_ones()).sum();
            let clients: BTreeSet<i32> = conns.map(|r| r.pid.load(Ordering::Relaxed) as i32).collect();
            let receive = p.threads.iter().filter(|t| t.state == "RECEIVE" && t.blocked == chid.to_string()).count();
            let send = all
                .iter()
                .flat_map(|c| c.threads.iter().map(move |t| (c, t)))
                .filter(|(_, t)| t.state == "SEND" && t.to == Some((p.pid, chid as i32)))
                .count();
            let list: Vec<String> = clients.iter().map(|c| c.to_string()).collect();
            format!(
                "\t{chid:08x}: flags {flags:08x} PulseQ {pulses} SendQ {send} ReceiveQ {receive} ReplyQ {reply} clients {}",
                if list.is_empty() { "-".to_string() } else { list.join(",") }
            )
        })
        .collect()
}

fn print(cols: &[Column], procs: &[&Proc], all: &[Proc]) {
    let per_thread = cols.iter().any(|c| THREAD_CODES.contains(c.code));
    let mut title = String::new();
    for c in cols.iter().filter(|c| !MULTI_LINE.contains(c.code)) {
        cell(&mut title, c, c.title);
    }
    println!("{}", title.trim_end());
    for p in procs {
        let threads: Vec<Option<&Thread>> =
            if per_thread { p.threads.iter().map(Some).collect() } else { vec![None] };
        for (i, t) in threads.into_iter().enumerate() {
            let mut line = String::new();
            for c in cols.iter().filter(|c| !MULTI_LINE.contains(c.code)) {
                cell(&mut line, c, &value(c, p, t));
            }
            println!("{}", line.trim_end());
            if i == 0 {
                for c in cols.iter().filter(|c| MULTI_LINE.contains(c.code)) {
                    let lines = if c.code == 'o' { coid_lines(p) } else { channel_lines(p, all) };
                    lines.iter().for_each(|l| println!("{l}"));
                }
                let untold = p.layout().header.untold.load(Ordering::Relaxed);
                if untold > 0 && cols.iter().any(|c| MULTI_LINE.contains(c.code)) {
                    println!("\t({untold} coids, channels or names found no room to be shown)");
                }
            }
        }
    }
}

fn print_names(procs: &[&Proc]) {
    println!("{:>8} {:<18} {:>4} {:<4} name", "pid", "process", "chid", "kind");
    for p in procs {
        for r in p.layout().names.iter() {
            let kind = match r.kind.load(Ordering::Relaxed) {
                status::NAME_LOCAL => "name",
                status::NAME_PATH => "path",
                _ => continue,
            };
            let text = linux::printable(&String::from_utf8_lossy(&r.text()));
            let name = p.name();
            let short = name.rsplit('/').next().unwrap_or(&name);
            println!(
                "{:>8} {:<18} {:>4} {:<4} {text}",
                p.pid,
                short,
                r.chid.load(Ordering::Relaxed) as i32,
                kind
            );
        }
    }
}

/// Whether `p` is the process `which` names: its pid, or its program's name or path.
fn is(p: &Proc, which: &str) -> bool {
    if let Ok(pid) = which.parse::<i32>() {
        return p.pid == pid;
    }
    let name = p.name();
    name == which || name.rsplit('/').next() == Some(which)
}

fn select<'a>(procs: &'a [Proc], only: Option<&str>, family: Option<&str>) -> Vec<&'a Proc> {
    if let Some(w) = only {
        return procs.iter().filter(|p| is(p, w)).collect();
    }
    let Some(w) = family else { return procs.iter().collect() };
    let mut keep: BTreeSet<i32> = procs.iter().filter(|p| is(p, w)).map(|p| p.pid).collect();
    loop {
        let more: Vec<i32> = procs
            .iter()
            .filter(|p| keep.contains(&p.ppid) && !keep.contains(&p.pid))
            .map(|p| p.pid)
            .collect();
        if more.is_empty() {
            break;
        }
        keep.extend(more);
    }
    procs.iter().filter(|p| keep.contains(&p.pid)).collect()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut only, mut family, mut format) = (None, None, None);
    let mut shorthands = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut arg = |what: &str| it.next().cloned().ok_or_else(|| format!("{what} needs an argument"));
        let r = match a.as_str() {
            "-p" => arg("-p").map(|v| only = Some(v)),
            "-P" => arg("-P").map(|v| family = Some(v)),
            "-F" => arg("-F").map(|v| format = Some(v)),
            "-f" => arg("-f").map(|v| format = Some(v.chars().map(|c| format!("%{c} ")).collect())),
            "-h" | "--help" => {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            s if s.starts_with('-') => Err(format!("unknown option {s}")),
            s => match SHORTHANDS.iter().find(|(name, _)| name.starts_with(s)) {
                Some(&(name, f)) => {
                    shorthands.push((name, f));
                    Ok(())
                }
                None => Err(format!("{s}: invalid shorthand")),
            },
        };
        if let Err(e) = r {
            eprint!("pidin: {e}\n{USAGE}");
            return ExitCode::FAILURE;
        }
    }
    let all = model::gather();
    let chosen = select(&all, only.as_deref(), family.as_deref());
    let runs: Vec<(&str, String)> = if shorthands.is_empty() {
        vec![("", format.unwrap_or_else(|| DEFAULT_FORMAT.to_string()))]
    } else {
        shorthands.into_iter().map(|(n, f)| (n, f.to_string())).collect()
    };
    for (name, f) in runs {
        if name == "names" {
            print_names(&chosen);
            continue;
        }
        match parse_format(&f) {
            Ok(cols) => print(&cols, &chosen, &all),
            Err(e) => {
                eprintln!("pidin: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
