//! Attribute keys as Rust items, so the compiler checks them.
//!
//! Each key is a `const` of type [`Key<T>`] (for [`span::set`](crate::span::set)) and, under the
//! same name, a trait that the macros use to check values: in `fields(...)` and `trace!`, a
//! dotted key such as `audio.sample_rate = 16000` resolves to `keys::audio::sample_rate`. A
//! misspelled key does not compile (rustc suggests the right one), and neither does a value of
//! the wrong type (the error names the key and the expected type). A string literal key,
//! `"app.tenant" = v`, is the explicit unchecked escape hatch.
//!
//! Your own keys are declared with [`define_keys!`](crate::define_keys) and used by path:
//!
//! ```
//! mod my_keys {
//!     trace_runtime::define_keys! {
//!         /// Keys of the billing service.
//!         pub mod billing {
//!             /// Customer the call is billed to.
//!             customer: String,
//!             /// Credits charged.
//!             credits: i64,
//!         }
//!     }
//! }
//!
//! #[trace_runtime::trace_pipeline(name = "billing", element = "charge",
//!     fields(my_keys::billing::credits = 3, session.id = "s-1"))]
//! fn charge() {}
//!
//! assert_eq!(my_keys::billing::customer.name(), "billing.customer");
//! ```

use std::fmt;
use std::marker::PhantomData;

use crate::record::value::{AttrValue, BoolValue, FloatValue, IntValue, StrListValue, StrValue};

/// A typed attribute key: its wire name, and in `T` the type of value it takes (`String`, `i64`,
/// `f64`, `bool` or `Vec<String>`).
///
/// ```
/// use trace_runtime::keys::{self, Key};
///
/// let key: Key<i64> = keys::audio::sample_rate;
/// assert_eq!(key.name(), "audio.sample_rate");
/// ```
pub struct Key<T> {
    name: &'static str,
    associated: bool,
    _value: PhantomData<fn() -> T>,
}

impl<T> Key<T> {
    /// A key with wire name `name`. Prefer [`define_keys!`](crate::define_keys), which also makes
    /// the key usable in macro `fields(...)`.
    pub const fn new(name: &'static str) -> Self {
        Key { name, associated: false, _value: PhantomData }
    }

    /// An association key: set on a span, it is carried to every span below it (see
    /// [`span::association`](crate::span::association)). `define_keys!` makes one from a key
    /// marked `#[associated]`.
    ///
    /// ```
    /// use trace_runtime::keys::{self, Key};
    ///
    /// const TENANT: Key<String> = Key::associated("app.tenant");
    /// assert!(TENANT.is_associated());
    /// assert!(keys::session::id.is_associated());
    /// assert!(!keys::audio::codec.is_associated());
    /// ```
    pub const fn associated(name: &'static str) -> Self {
        Key { name, associated: true, _value: PhantomData }
    }

    /// Whether spans below the one it is set on carry it too.
    pub const fn is_associated(&self) -> bool {
        self.associated
    }

    /// The wire name, e.g. `"audio.sample_rate"`.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<T> Clone for Key<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Key<T> {}

impl<T> fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.name)
    }
}

/// Values a `Key<T>` accepts.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid value for a trace key of type `{T}`",
    label = "expected a value that converts to `{T}`"
)]
pub trait IntoValue<T> {
    #[doc(hidden)]
    fn into_value(self) -> AttrValue;
}

macro_rules! into_value {
    ($($t:ty => $class:ident),*) => {$(
        #[diagnostic::do_not_recommend]
        impl<V: $class> IntoValue<$t> for V {
            #[inline(always)]
            fn into_value(self) -> AttrValue {
                $class::into_value(self)
            }
        }
    )*};
}
into_value!(String => StrValue, i64 => IntValue, f64 => FloatValue, bool => BoolValue, Vec<String> => StrListValue);

trace_macros::define_keys! {
    /// Realtime pipelines.
    pub mod pipeline {
        /// Name of the pipeline, e.g. `voice`.
        name: String,
        /// The element processing the data, e.g. `stt`, `resample`.
        element: String,
        /// What the element does with a message: `process`, `push`, `pull`.
        operation: String,
    }

    /// Sessions of a pipeline or an agent.
    pub mod session {
        /// Id of the user session; carried to every span below the one it is set on.
        #[associated]
        id: String,
    }

    /// The end user.
    pub mod user {
        /// Id of the end user; carried to every span below the one it is set on.
        #[associated]
        id: String,
    }

    /// Network connections (WebRTC, WebSocket, SIP, ...).
    pub mod connection {
        /// Id of the connection.
        id: String,
        /// Transport: `webrtc`, `websocket`, `sip`, ...
        r#type: String,
        /// State after this operation: `new`, `connecting`, `connected`, `closed`, ...
        state: String,
        /// State before a state change.
        previous_state: String,
        /// `send` or `receive`.
        direction: String,
    }

    /// Messages on a connection or through a pipeline.
    pub mod message {
        /// Size in bytes.
        size: i64,
        /// Kind of message: `audio`, `text`, `control`, ...
        r#type: String,
    }

    /// Audio processing.
    pub mod audio {
        /// Sample rate in Hz.
        sample_rate: i64,
        /// Number of channels.
        channels: i64,
        /// Media type, e.g. `audio/x-raw`.
        media_type: String,
        /// Codec, e.g. `opus`, `pcm_s16le`.
        codec: String,
        /// Bytes of audio handled.
        bytes: i64,
        /// Duration of the audio in milliseconds.
        duration_ms: f64,
        /// What was done: `resample`, `encode`, `decode`, `vad`, ...
        operation: String,
        /// Bytes in.
        input_bytes: i64,
        /// Bytes out.
        output_bytes: i64,
        /// Sample rate of the output, in Hz, when it differs from the input's.
        output_sample_rate: i64,
    }

    /// Video processing.
    pub mod video {
        /// Frame width in pixels.
        width: i64,
        /// Frame height in pixels.
        height: i64,
        /// Frames per second.
        frame_rate: f64,
        /// Codec, e.g. `vp8`, `h264`.
        codec: String,
        /// Media type, e.g. `video/x-raw`.
        media_type: String,
        /// Bytes of video handled.
        bytes: i64,
        /// What was done: `encode`, `decode`, `scale`, ...
        operation: String,
        /// Bytes in.
        input_bytes: i64,
        /// Bytes out.
        output_bytes: i64,
    }

    /// OpenTelemetry GenAI semantic conventions.
    pub mod gen_ai {
        /// The operation.
        pub mod operation {
            /// `chat`, `text_completion`, `embeddings`, `execute_tool`, `invoke_agent`, ...
            name: String,
        }
        /// The provider.
        pub mod provider {
            /// `openai`, `anthropic`, `gcp.gemini`, `aws.bedrock`, ...
            name: String,
        }
        /// The request.
        pub mod request {
            /// Model asked for.
            model: String,
            /// Sampling temperature.
            temperature: f64,
            /// Most tokens the model may generate.
            max_tokens: i64,
            /// Nucleus sampling.
            top_p: f64,
            /// Top-k sampling.
            top_k: f64,
            /// Frequency penalty.
            frequency_penalty: f64,
            /// Presence penalty.
            presence_penalty: f64,
            /// Stop sequences.
            stop_sequences: Vec<String>,
            /// Seed.
            seed: i64,
        }
        /// The response.
        pub mod response {
            /// Model that answered.
            model: String,
            /// Id of the completion.
            id: String,
            /// Why generation stopped, one per choice.
            finish_reasons: Vec<String>,
            /// Seconds from the request to the first chunk of a streamed response (set by
            /// [`stream::trace_llm_stream`](crate::stream::trace_llm_stream)).
            time_to_first_chunk: f64,
        }
        /// Token usage (set by `record_usage`).
        pub mod usage {
            /// Prompt tokens.
            input_tokens: i64,
            /// Completion tokens.
            output_tokens: i64,
            /// Prompt tokens read from the provider's cache.
            pub mod cache_read {
                /// Prompt tokens read from the provider's cache.
                input_tokens: i64,
            }
            /// Prompt tokens written to the provider's cache.
            pub mod cache_write {
                /// Prompt tokens written to the provider's cache.
                input_tokens: i64,
            }
            /// Reasoning tokens.
            pub mod reasoning {
                /// Completion tokens spent on reasoning.
                output_tokens: i64,
            }
            /// Cost of the call in US dollars, set by the export worker from the
            /// [price table](crate::cost) (not an OpenTelemetry name; priced models only).
            cost: f64,
        }
        /// The conversation.
        pub mod conversation {
            /// Id of the conversation (thread, session); carried to every span below the one it
            /// is set on.
            #[associated]
            id: String,
        }
        /// Inputs (recorded only with `TRACE_CAPTURE_IO`).
        pub mod input {
            /// Input messages, JSON per the GenAI conventions.
            messages: String,
        }
        /// Outputs (recorded only with `TRACE_CAPTURE_IO`).
        pub mod output {
            /// Output messages, JSON per the GenAI conventions.
            messages: String,
            /// `text`, `json`, `image`, `speech`.
            r#type: String,
        }
        /// System instructions, JSON (recorded only with `TRACE_CAPTURE_IO`).
        system_instructions: String,
        /// Agents (`#[trace_agent]`).
        pub mod agent {
            /// Name of the agent.
            name: String,
            /// Id of the agent.
            id: String,
            /// What the agent does.
            description: String,
        }
        /// Tools (`#[trace_tool]`).
        pub mod tool {
            /// Name of the tool.
            name: String,
            /// `function`, `extension` or `datastore`.
            r#type: String,
            /// What the tool does.
            description: String,
            /// The tool call.
            pub mod call {
                /// Id of the tool call.
                id: String,
                /// The arguments, JSON (recorded only with `TRACE_CAPTURE_IO`).
                arguments: String,
                /// The result, JSON (recorded only with `TRACE_CAPTURE_IO`).
                result: String,
            }
        }
        /// Evaluations ([`Evaluation`](crate::Evaluation)).
        pub mod evaluation {
            /// What was evaluated: `relevance`, `faithfulness`, ...
            name: String,
            /// The score.
            pub mod score {
                /// The score as a number.
                value: f64,
                /// The score as a label: `pass`, `relevant`, ...
                label: String,
            }
            /// Why.
            explanation: String,
        }
    }

    /// Speech to text.
    pub mod stt {
        /// Provider, e.g. `deepgram`, `azure`.
        provider: String,
        /// Model.
        model: String,
        /// Language, BCP 47.
        language: String,
        /// Duration of the audio transcribed, in milliseconds.
        audio_duration_ms: f64,
        /// Characters of transcript produced.
        characters: i64,
        /// Time from the request to the first transcript byte, in milliseconds.
        time_to_first_byte_ms: f64,
    }

    /// Text to speech.
    pub mod tts {
        /// Provider, e.g. `elevenlabs`, `azure`.
        provider: String,
        /// Model.
        model: String,
        /// Voice.
        voice: String,
        /// Language, BCP 47.
        language: String,
        /// Characters synthesised.
        characters: i64,
        /// Duration of the audio produced, in milliseconds.
        audio_duration_ms: f64,
        /// Time from the request to the first audio byte, in milliseconds.
        time_to_first_byte_ms: f64,
    }

    /// Voice agents.
    pub mod voice {
        /// One conversational turn, measured by [`realtime::Turn`](crate::realtime::Turn): each
        /// delay in seconds, from the milestones the application marked.
        pub mod turn {
            /// Id of the turn in this process; carried to every span below the turn's.
            #[associated]
            id: i64,
            /// User speech ended → end of utterance decided (the endpointing delay).
            end_of_utterance_delay: f64,
            /// User speech ended → final transcript.
            transcription_delay: f64,
            /// End of utterance and final transcript both in → the LLM's first token.
            llm_ttft: f64,
            /// LLM first token → the TTS's first audio byte.
            tts_ttfb: f64,
            /// TTS first audio byte → the first audio frame sent to the user.
            audio_out_delay: f64,
            /// User speech ended → first audio frame sent: the latency the user hears.
            latency: f64,
            /// The user barged in and the turn's generation was dropped: on the turn span and
            /// on every span of the turn that the interruption cancelled.
            interrupted: bool,
            /// Seconds from the first audio sent (or, before any, from the user's speech end)
            /// to the interruption.
            interrupted_after: f64,
            /// Output tokens the turn's LLM calls produced (by the interruption, if any).
            output_tokens: i64,
            /// Seconds of audio sent to the user (by the interruption, if any).
            audio_sent: f64,
        }
    }

    /// Errors (OpenTelemetry conventions).
    pub mod error {
        /// Class of the error: a type name or a well-known code.
        r#type: String,
    }

    /// Exceptions (OpenTelemetry conventions).
    pub mod exception {
        /// Type of the exception.
        r#type: String,
        /// Message of the exception.
        message: String,
        /// Stack trace or chain of causes.
        stacktrace: String,
    }

    /// Set by the kit itself.
    pub mod span {
        /// The traced future was dropped before it completed.
        cancelled: bool,
    }
}
