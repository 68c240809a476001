//! `rcp`: copy files and trees to and from many hosts at once.

fn main() {
    std::process::exit(fleetkit::tools::rcp::main());
}
