// A method that returns a borrow of `&mut self` (and one of `&self`).
use trace_runtime::{testing, trace, trace_pipeline};
use ui_tests::{assert_child, span, str_attr};

struct Encoder {
    name: String,
    buf: Vec<u8>,
}

impl Encoder {
    #[trace_pipeline(name = "voice", element = self.name.as_str())]
    fn buf(&mut self) -> &mut Vec<u8> {
        self.buf.reserve(4);
        &mut self.buf
    }

    #[trace_pipeline(name = "voice", element = "peek", span_name = "peek")]
    fn first(&self) -> Option<&u8> {
        self.buf.first()
    }
}

fn main() {
    let mut enc = Encoder { name: "opus".into(), buf: Vec::new() };
    let (_, spans) = testing::capture(|| {
        trace!("root", {
            enc.buf().push(7);
            enc.buf().push(8);
        })
    });
    assert_eq!(enc.buf, [7, 8]);
    assert_eq!(spans.len(), 3);
    let root = span(&spans, "root");
    for s in spans.iter().filter(|s| s.name == "buf") {
        assert_child(s, root);
        assert_eq!(str_attr(s, "pipeline.element"), "opus");
    }

    let (first, spans) = testing::capture(|| trace!("root", { enc.first().copied() }));
    assert_eq!(first, Some(7));
    assert_child(span(&spans, "peek"), span(&spans, "root"));
}
