//! Limits that protect backends and memory, seen on the exported span: event names and values and
//! status descriptions are cut like attribute values.

use trace_runtime::limits::{MAX_EVENT_ATTRIBUTES, MAX_VALUE_BYTES};
use trace_runtime::opentelemetry::KeyValue;
use trace_runtime::opentelemetry::trace::Status;
use trace_runtime::{span, testing, trace};

#[test]
fn huge_events_and_error_texts_are_cut_to_the_documented_limits() {
    let huge = "é".repeat(MAX_VALUE_BYTES);
    let (_, spans) = testing::capture(|| {
        trace!("upload", {
            let attrs = (0..MAX_EVENT_ATTRIBUTES + 5).map(|i| KeyValue::new(format!("k{i}"), huge.clone()));
            span::add_event(huge.clone(), attrs);
            span::set_error(huge.clone());
        })
    });
    let event = &spans[0].events.events[0];
    assert!(event.name.len() <= MAX_VALUE_BYTES && event.name.len() >= MAX_VALUE_BYTES - 1);
    assert_eq!(event.attributes.len(), MAX_EVENT_ATTRIBUTES);
    assert!(event.attributes.iter().all(|kv| kv.value.as_str().len() <= MAX_VALUE_BYTES));
    let Status::Error { description } = &spans[0].status else { panic!("an error status") };
    assert!(description.len() <= MAX_VALUE_BYTES, "{}", description.len());
}

#[test]
fn a_huge_error_message_is_cut_on_the_span_and_its_event() {
    let message = "x".repeat(3 * MAX_VALUE_BYTES);
    let (_, spans) =
        testing::capture(|| trace!("load", { span::record_error(&std::io::Error::other(message.clone())) }));
    let Status::Error { description } = &spans[0].status else { panic!("an error status") };
    assert_eq!(description.len(), MAX_VALUE_BYTES);
    let exception = &spans[0].events.events[0];
    assert!(exception.attributes.iter().all(|kv| kv.value.as_str().len() <= MAX_VALUE_BYTES));
}
