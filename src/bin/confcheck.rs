//! `confcheck`: services' config tests in one format, reloads only after a pass.

fn main() {
    std::process::exit(fleetkit::tools::confcheck::main());
}
