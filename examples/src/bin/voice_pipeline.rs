//! A realtime voice agent over simulated timings (no network; about two seconds to run): a
//! connection carries three conversational turns. In each, 20 ms audio frames go through
//! resample -> voice activity detection; the end of the utterance is decided, the transcript
//! arrives, an LLM streams its reply and text to speech plays it out frame by frame. In the third
//! turn the user barges in while the reply is playing: the generation is dropped, and the turn and
//! the dropped span say `interrupted`, with the tokens and audio produced by then.
//!
//! Run it with `cargo run -p examples --bin voice_pipeline`: the console shows each turn's
//! stages (`voice.turn.*`, seconds) and, when the connection ends, the conversation's summary
//! (p50 / p95 / max per stage). With `OTEL_METRICS_EXPORTER=console` the same figures print as
//! histograms.
//!
//! Every frame function is traced: this is the per-frame overhead the kit is built for.

use std::time::Duration;

use futures::StreamExt as _;
use tokio::time::sleep;
use trace_runtime::realtime::{Milestone, Turn};
use trace_runtime::{Usage, keys, span, stream::trace_llm_stream, trace, trace_connection, trace_pipeline};

const FRAME: usize = 320; // 20 ms at 16 kHz
const FRAME_TIME: Duration = Duration::from_millis(20);

#[trace_pipeline(name = "voice", element = "resample", fields(audio.sample_rate = 16000, audio.channels = 1))]
fn resample(frame: &[i16]) -> Vec<i16> {
    frame.iter().step_by(3).copied().collect()
}

#[trace_pipeline(name = "voice", element = "vad")]
fn is_speech(frame: &[i16]) -> bool {
    frame.iter().map(|s| i64::from(*s).abs()).sum::<i64>() / frame.len().max(1) as i64 > 500
}

#[trace_pipeline(name = "voice", element = "stt", fields(stt.provider = "deepgram", stt.model = "nova-3"))]
async fn transcribe(turn: &Turn, frames: usize, text: &'static str) -> &'static str {
    sleep(Duration::from_millis(120)).await;
    span::set(keys::stt::audio_duration_ms, frames as f64 * 20.0);
    turn.mark(Milestone::FinalTranscript);
    text
}

/// The LLM's reply, streamed: the first token after 250 ms, then one every 10 ms.
async fn reply(turn: &Turn, prompt: &str) -> String {
    let words: Vec<String> =
        format!("Sure, {prompt}: done, anything else?").split(' ').map(String::from).collect();
    let n = words.len() as u64;
    let tokens = futures::stream::iter(words.into_iter().enumerate()).then(|(i, word)| async move {
        sleep(if i == 0 { Duration::from_millis(250) } else { Duration::from_millis(10) }).await;
        (i as u64 + 1 == n, word)
    });
    let usage = move |(last, _): &(bool, String)| {
        last.then_some(Usage { input_tokens: 180, output_tokens: n, ..Default::default() })
    };
    let mut stream = std::pin::pin!(trace_llm_stream("anthropic", "claude-haiku-4-5", tokens, usage));
    let mut text = Vec::new();
    while let Some((_, word)) = stream.next().await {
        turn.mark(Milestone::LlmFirstToken);
        text.push(word);
    }
    text.join(" ")
}

/// Text to speech, played out frame by frame as it is synthesised.
#[trace_pipeline(name = "voice", element = "tts", fields(tts.provider = "elevenlabs", tts.voice = "rachel"))]
async fn speak(turn: &Turn, text: &str) {
    span::set(keys::tts::characters, text.chars().count());
    sleep(Duration::from_millis(90)).await;
    turn.mark(Milestone::TtsFirstByte);
    sleep(Duration::from_millis(15)).await;
    for _ in 0..text.len() / 4 {
        turn.mark(Milestone::FirstAudioOut);
        turn.audio_sent(FRAME_TIME);
        sleep(FRAME_TIME).await;
    }
}

/// One turn; `barge_in_after` is when the user starts speaking over the reply, if they do.
async fn conversational_turn(audio: &[i16], text: &'static str, barge_in_after: Option<Duration>) {
    let turn = Turn::start();
    let mut speech_frames = 0;
    for frame in audio.chunks(FRAME) {
        if is_speech(&resample(frame)) {
            if speech_frames == 0 {
                turn.mark(Milestone::SpeechStarted);
            }
            speech_frames += 1;
        }
    }
    turn.mark(Milestone::SpeechEnded);
    // The turn detector waits for a little silence before it decides the user is done.
    let transcript = transcribe(&turn, speech_frames, text);
    let endpointing = async {
        sleep(Duration::from_millis(80)).await;
        turn.mark(Milestone::EndOfUtterance);
    };
    let (prompt, ()) = tokio::join!(transcript, endpointing);
    let generate = async {
        let answer = reply(&turn, prompt).await;
        speak(&turn, &answer).await;
    };
    let barge_in = async {
        match barge_in_after {
            Some(after) => {
                sleep(after).await;
                // Marked before the generation is dropped: what the drop cancels says so.
                turn.interrupt();
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = generate => {}
        () = barge_in => {}
    }
}

#[trace_connection(id = conn_id, kind = "webrtc", state = "connected")]
async fn serve(conn_id: &str, audio: &[i16]) {
    let turns = [
        ("turn the lights on", None),
        ("and the heating", None),
        ("actually, wait", Some(Duration::from_millis(450))),
    ];
    for (text, barge_in_after) in turns {
        trace!("voice.turn", async { conversational_turn(audio, text, barge_in_after).await }).await;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _guard = trace_runtime::init()?;
    // One second of audio: 50 frames, speech in the middle.
    let audio: Vec<i16> =
        (0..16_000).map(|i| if (4_000..12_000).contains(&i) { 2_000 } else { 10 }).collect();
    serve("conn-1", &audio).await;
    Ok(())
}
