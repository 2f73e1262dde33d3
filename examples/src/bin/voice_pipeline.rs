//! A realtime voice pipeline: a connection receives 20 ms audio frames, and every frame goes
//! through resample -> voice activity detection -> speech to text; each utterance goes to an LLM
//! and then to text to speech. Run it with `cargo run -p examples --bin voice_pipeline`.
//!
//! Every frame function is traced: this is the per-frame overhead the kit is built for.

use std::time::Duration;

use trace_runtime::{Usage, keys, record_usage, span, trace_connection, trace_llm, trace_pipeline};

const FRAME: usize = 320; // 20 ms at 16 kHz

#[trace_pipeline(name = "voice", element = "resample", fields(audio.sample_rate = 16000, audio.channels = 1))]
fn resample(frame: &[i16]) -> Vec<i16> {
    frame.iter().step_by(3).copied().collect()
}

#[trace_pipeline(name = "voice", element = "vad")]
fn is_speech(frame: &[i16]) -> bool {
    frame.iter().map(|s| i64::from(*s).abs()).sum::<i64>() / frame.len().max(1) as i64 > 500
}

#[trace_pipeline(name = "voice", element = "stt", fields(stt.provider = "deepgram", stt.model = "nova-3"))]
async fn transcribe(frames: usize) -> String {
    tokio::time::sleep(Duration::from_millis(15)).await;
    span::set(keys::stt::audio_duration_ms, frames as f64 * 20.0);
    "turn the lights on".to_string()
}

#[trace_llm(provider = "anthropic", model = "claude-haiku-4-5")]
async fn reply(text: &str) -> String {
    tokio::time::sleep(Duration::from_millis(25)).await;
    record_usage(Usage { input_tokens: 40 + text.len() as u64 / 4, output_tokens: 12, ..Default::default() });
    "Done, the lights are on.".to_string()
}

#[trace_pipeline(name = "voice", element = "tts", fields(tts.provider = "elevenlabs", tts.voice = "rachel"))]
async fn synthesize(text: &str) -> usize {
    tokio::time::sleep(Duration::from_millis(10)).await;
    span::set(keys::tts::characters, text.chars().count());
    text.len() * 160
}

#[trace_connection(id = conn_id, kind = "webrtc", state = "connected")]
async fn serve(conn_id: &str, audio: &[i16]) -> usize {
    let mut speech_frames = 0;
    for frame in audio.chunks(FRAME) {
        let frame = resample(frame);
        if is_speech(&frame) {
            speech_frames += 1;
        }
    }
    let text = transcribe(speech_frames).await;
    let answer = reply(&text).await;
    synthesize(&answer).await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _guard = trace_runtime::init()?;
    // One second of audio: 50 frames, speech in the middle.
    let audio: Vec<i16> =
        (0..16_000).map(|i| if (4_000..12_000).contains(&i) { 2_000 } else { 10 }).collect();
    let bytes = serve("conn-1", &audio).await;
    eprintln!("synthesised {bytes} bytes of audio");
    Ok(())
}
