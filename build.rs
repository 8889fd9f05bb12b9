//! Links the shared library with an explicit soname and a version script that exports only
//! the QNX API, and regenerates the cbindgen part of the headers into OUT_DIR so that
//! `make check-headers` can compare it with the committed copy.

use std::env;
use std::path::PathBuf;

/// The export modules, in the order their prototypes appear in the header.
const API_SOURCES: &[&str] = &[
    "src/capi/neutrino.rs",
    "src/capi/client_info.rs",
    "src/capi/event.rs",
    "src/capi/clock.rs",
    "src/capi/timer.rs",
    "src/capi/sched.rs",
];

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let script = root.join("neutrino.map");
    println!("cargo:rerun-if-changed=neutrino.map");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libneutrino.so.0");
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={}", script.display());

    cc::Build::new()
        .file("src/c/cancel.c")
        .file("src/c/qnxlibc.c")
        .file("src/c/threads.c")
        .file("src/c/spawn.c")
        .file("src/c/procmgr.c")
        .file("src/c/signals.c")
        .flag("-fexceptions")
        // Some of it (the spawn family, the C-library extras) is reached from C only: keep
        // every object.
        .link_lib_modifier("+whole-archive")
        .warnings_into_errors(true)
        .compile("neutrino_c");

    // The resource-manager library is QNX structures throughout: built against the QNX
    // headers we ship (the files above must see the system's own).
    cc::Build::new()
        .file("src/resmgr/iofunc.c")
        .file("src/resmgr/resmgr.c")
        .file("src/resmgr/dispatch.c")
        .file("src/resmgr/devctl.c")
        .file("src/resmgr/select.c")
        .file("src/resmgr/notify.c")
        .include(root.join("include"))
        .flag("-fexceptions")
        .link_lib_modifier("+whole-archive")
        .warnings_into_errors(true)
        .compile("neutrino_resmgr");

    // The FUSE messages the bridge mirrors, checked against the system's <linux/fuse.h>
    // (see src/resmgr/fuse.rs): a mismatch fails the build.
    cc::Build::new().file("src/resmgr/fuse_abi.c").warnings_into_errors(true).compile("neutrino_fuse_abi");

    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml is readable");
    // Only the ABI module and the exports make the header; the rest is internal.
    let mut builder = cbindgen::Builder::new().with_config(config).with_src(root.join("src/kernel/abi.rs"));
    for f in API_SOURCES {
        builder = builder.with_src(root.join(f));
    }
    builder.generate().expect("cbindgen generates the API header").write_to_file(out.join("neutrino_api.h"));
    parenthesise_negative_macros(&out.join("neutrino_api.h"));
    // A stable path for the Makefile's drift check.
    let target_dir = root.join("target");
    std::fs::create_dir_all(&target_dir).ok();
    std::fs::copy(out.join("neutrino_api.h"), target_dir.join("neutrino_api.h"))
        .expect("copy generated header");
}

/// `#define X -32` becomes `#define X (-32)`, so the macro is safe in any expression.
fn parenthesise_negative_macros(path: &std::path::Path) {
    let text = std::fs::read_to_string(path).expect("read generated header");
    let fixed: Vec<String> = text
        .lines()
        .map(|line| match line.strip_prefix("#define ").and_then(|rest| rest.split_once(' ')) {
            Some((name, value)) if value.starts_with('-') => format!("#define {name} ({value})"),
            _ => line.to_string(),
        })
        .collect();
    std::fs::write(path, fixed.join("\n") + "\n").expect("write generated header");
}
