//! `rrun`: run one command on many hosts at once over SSH. See `fleetkit::tools::rrun`.

fn main() {
    std::process::exit(fleetkit::tools::rrun::main());
}
