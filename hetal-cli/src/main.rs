//! The `hetal` command line (under construction).

fn main() {
    println!("hetal: under construction");
}
