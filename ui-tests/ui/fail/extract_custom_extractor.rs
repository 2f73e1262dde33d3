use trace_runtime::opentelemetry::propagation::Extractor;
use trace_runtime::propagation;

struct Metadata;

impl Extractor for Metadata {
    fn get(&self, _key: &str) -> Option<&str> {
        None
    }
    fn keys(&self) -> Vec<&str> {
        Vec::new()
    }
}

fn main() {
    let _ = propagation::extract(&Metadata);
}
