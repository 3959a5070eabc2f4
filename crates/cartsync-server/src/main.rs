//! Placeholder until the server issue: the reference authority lands here.
fn main() {
    println!("cartsync-server: not built yet");
}
