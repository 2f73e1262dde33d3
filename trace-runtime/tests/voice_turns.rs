//! The voice turn through `testing::capture_async`: milestones marked from several tasks of a
//! multi-thread runtime, the stage delays on the turn span, and a barge-in that drops the LLM
//! stream and the TTS mid-poll — the turn and exactly the spans the drop cancelled say
//! `interrupted`, with the tokens and audio produced by then — and the conversation summary.

use std::pin::pin;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use opentelemetry_sdk::trace::SpanData;
use trace_runtime::realtime::{Milestone, Turn};
use trace_runtime::summary::ConversationSummary;
use trace_runtime::{Usage, span, stream::trace_llm_stream, testing, trace, trace_pipeline};

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.to_string())
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

#[trace_pipeline(name = "voice", element = "stt")]
async fn transcribe(turn: Turn) -> &'static str {
    tokio::task::yield_now().await;
    turn.mark(Milestone::FinalTranscript);
    "book a table"
}

/// Never finishes on its own: only a barge-in ends it.
#[trace_pipeline(name = "voice", element = "tts")]
async fn synthesize(turn: Turn) {
    turn.mark(Milestone::TtsFirstByte);
    std::future::pending::<()>().await
}

/// One turn; `barge_in` interrupts it after the first token and 400 ms of audio.
async fn turn(barge_in: bool) -> Option<opentelemetry::trace::TraceId> {
    let turn = Turn::start();
    turn.mark_at(Milestone::SpeechEnded, Instant::now() - Duration::from_millis(300));
    turn.mark(Milestone::EndOfUtterance);
    // The transcript comes from another task, on whichever worker thread runs it.
    let stt = trace_runtime::spawn(transcribe(turn.clone()));
    assert_eq!(stt.await.unwrap(), "book a table");
    // A stream that yields one chunk (5 output tokens so far), then waits forever.
    let first = Usage { input_tokens: 30, output_tokens: 5, ..Default::default() };
    let chunks = futures::stream::iter([first]).chain(futures::stream::pending());
    let mut llm = pin!(trace_llm_stream("openai", "gpt-4o", chunks, |u: &Usage| Some(*u)));
    assert!(llm.next().await.is_some());
    turn.mark(Milestone::LlmFirstToken);
    let mut tts = pin!(synthesize(turn.clone()));
    assert!(futures::poll!(tts.as_mut()).is_pending());
    turn.mark(Milestone::FirstAudioOut);
    for _ in 0..20 {
        turn.audio_sent(Duration::from_millis(20));
    }
    if barge_in {
        turn.interrupt();
    }
    // Both generations are dropped here, mid-poll, whether or not the user barged in.
    span::trace_id()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_barge_in_marks_the_turn_and_exactly_the_spans_it_cancelled() {
    let (trace_id, spans) = testing::capture_async(async {
        trace!("call", async {
            trace!("voice.turn", async { turn(false).await }).await;
            trace!("voice.turn", async { turn(true).await }).await;
            span::trace_id()
        })
        .await
    })
    .await;

    let turns = named(&spans, "voice.turn");
    assert_eq!(turns.len(), 2);
    let (normal, cut) = (turns[0], turns[1]);
    for stage in [
        "end_of_utterance_delay",
        "transcription_delay",
        "llm_ttft",
        "tts_ttfb",
        "audio_out_delay",
        "latency",
    ] {
        let delay: f64 = attr(normal, &format!("voice.turn.{stage}"))
            .unwrap_or_else(|| panic!("{stage}"))
            .parse()
            .unwrap();
        assert!(delay >= 0.0, "{stage} = {delay}");
    }
    let latency: f64 = attr(normal, "voice.turn.latency").unwrap().parse().unwrap();
    assert!(latency >= 0.3, "speech ended 300 ms before the turn began: {latency}");
    assert_eq!(attr(normal, "voice.turn.interrupted"), None);
    assert_eq!(attr(normal, "voice.turn.output_tokens").as_deref(), Some("5"));

    assert_eq!(attr(cut, "voice.turn.interrupted").as_deref(), Some("true"));
    assert_eq!(attr(cut, "voice.turn.output_tokens").as_deref(), Some("5"), "the tokens streamed by then");
    let audio: f64 = attr(cut, "voice.turn.audio_sent").unwrap().parse().unwrap();
    assert!((audio - 0.4).abs() < 1e-9, "{audio}");
    assert!(attr(cut, "voice.turn.interrupted_after").is_some());
    let event =
        cut.events.iter().find(|e| e.name == "voice.turn.interrupted").expect("the interruption event");
    assert!(event.timestamp >= cut.start_time && event.timestamp <= cut.end_time, "when it happened");

    // Each turn's children carry its id; the dropped ones of the interrupted turn say so.
    let id = |s: &SpanData| attr(s, "voice.turn.id");
    for (turn, interrupted) in [(normal, None), (cut, Some("true"))] {
        let children: Vec<_> =
            spans.iter().filter(|s| s.parent_span_id == turn.span_context.span_id()).collect();
        assert_eq!(children.len(), 3, "stt, the LLM stream and tts: {children:#?}");
        for child in children {
            assert_eq!(id(child), id(turn), "{}", child.name);
            let cancelled = attr(child, "span.cancelled").is_some();
            let expected = if cancelled { interrupted } else { None };
            assert_eq!(attr(child, "voice.turn.interrupted").as_deref(), expected, "{}", child.name);
            if child.name.contains("stt") || attr(child, "pipeline.element").as_deref() == Some("stt") {
                assert!(!cancelled, "the transcript finished before the barge-in");
            }
        }
    }
    assert_ne!(id(normal), id(cut));
    let llm = spans
        .iter()
        .find(|s| s.parent_span_id == cut.span_context.span_id() && attr(s, "gen_ai.request.model").is_some())
        .unwrap();
    assert_eq!(attr(llm, "gen_ai.usage.output_tokens").as_deref(), Some("5"), "the usage so far");

    let summary = ConversationSummary::of_trace(trace_id.unwrap()).expect("the call's conversation summary");
    assert_eq!((summary.name.as_str(), summary.turns, summary.interrupted), ("call", 2, 1));
    let latency_stats = summary.stages.iter().find(|s| s.name == "voice.turn.latency").unwrap();
    assert_eq!(latency_stats.turns, 1, "an interrupted turn is not a normal one");
    assert!((latency_stats.max - latency).abs() < 1e-9);
}

#[test]
fn a_turn_outside_any_span_is_inert() {
    let turn = Turn::start();
    turn.mark(Milestone::SpeechEnded);
    turn.mark(Milestone::FirstAudioOut);
    turn.interrupt();
    assert!(!turn.is_interrupted());
    assert_eq!(turn.latency(), None);
}

#[test]
fn the_first_mark_wins_and_latency_is_readable_in_code() {
    let (latency, spans) = testing::capture(|| {
        trace!("voice.turn", {
            let turn = Turn::start();
            let t0 = Instant::now();
            turn.mark_at(Milestone::SpeechEnded, t0);
            turn.mark_at(Milestone::FirstAudioOut, t0 + Duration::from_millis(500));
            turn.mark_at(Milestone::FirstAudioOut, t0 + Duration::from_millis(900));
            turn.mark_at(Milestone::SpeechEnded, t0 + Duration::from_millis(100));
            turn.latency()
        })
    });
    assert_eq!(latency, Some(Duration::from_millis(500)));
    assert_eq!(attr(&spans[0], "voice.turn.latency").as_deref(), Some("0.5"));
}
