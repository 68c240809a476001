//! `jpretty`: pretty-print, validate and colour JSON. See `fleetkit::tools::jpretty`.

fn main() {
    std::process::exit(fleetkit::tools::jpretty::main());
}
