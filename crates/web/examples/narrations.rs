//! Prints the narration at every key position of a lesson: `cargo run -p
//! pipelab-web --example narrations -- LESSON FLAVOR` (for reviewing the words).

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (lesson, nc) = match (args.get(1), args.get(2)) {
        (Some(l), Some(n)) => (l.as_str(), n.as_str()),
        _ => ("second-request", "textbook"),
    };
    let mut c = match pipelab_web::Core::from_lesson(lesson, nc) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    while c.position() < c.end() {
        let k = c.next_key();
        c.seek(k);
        println!("{k}: {}", c.narration().text);
    }
}
