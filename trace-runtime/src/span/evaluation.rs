//! Evaluations: a score, a label or both, with an explanation, on the span they judge — the
//! GenAI conventions' `gen_ai.evaluation.result` event.

use std::borrow::Cow;

use opentelemetry::KeyValue;

use super::context::Context;
use crate::record::value::{Attr, AttrValue};

/// The result of evaluating an LLM call, a tool call or an agent's answer: relevance, a pass/fail
/// label, a judge model's verdict.
///
/// Record it on the span it judges with [`span::record_evaluation`](crate::span::record_evaluation)
/// while that span runs, or later, by the span's [`Context`], with
/// [`span::record_evaluation_on`](crate::span::record_evaluation_on).
///
/// ```
/// use trace_runtime::{span, testing, trace, Evaluation};
///
/// let (_, spans) = testing::capture(|| {
///     trace!("answer", {
///         span::record_evaluation(Evaluation::new("relevance").score(0.92).label("relevant"));
///     })
/// });
/// let event = &spans[0].events.events[0];
/// assert_eq!(event.name, "gen_ai.evaluation.result");
/// let get = |k: &str| event.attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string());
/// assert_eq!(get("gen_ai.evaluation.name").as_deref(), Some("relevance"));
/// assert_eq!(get("gen_ai.evaluation.score.value").as_deref(), Some("0.92"));
/// assert_eq!(get("gen_ai.evaluation.score.label").as_deref(), Some("relevant"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    name: Cow<'static, str>,
    score: Option<f64>,
    label: Option<String>,
    explanation: Option<String>,
}

impl Evaluation {
    /// An evaluation named `name` (`gen_ai.evaluation.name`), e.g. `"relevance"`, `"faithfulness"`.
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Evaluation { name: name.into(), score: None, label: None, explanation: None }
    }

    /// The score (`gen_ai.evaluation.score.value`); a non-finite score is left out.
    ///
    /// ```
    /// use trace_runtime::Evaluation;
    /// assert_ne!(Evaluation::new("relevance").score(0.5), Evaluation::new("relevance").score(f64::NAN));
    /// assert_eq!(Evaluation::new("relevance").score(f64::NAN), Evaluation::new("relevance"));
    /// ```
    pub fn score(mut self, score: f64) -> Self {
        self.score = score.is_finite().then_some(score);
        self
    }

    /// The label (`gen_ai.evaluation.score.label`), e.g. `"pass"`, `"relevant"`.
    ///
    /// ```
    /// let pass = trace_runtime::Evaluation::new("correctness").label("pass");
    /// # drop(pass);
    /// ```
    pub fn label(mut self, label: &str) -> Self {
        self.label = Some(label.to_string());
        self
    }

    /// Why (`gen_ai.evaluation.explanation`), e.g. a judge model's reasoning.
    ///
    /// ```
    /// let judged = trace_runtime::Evaluation::new("faithfulness").explanation("cites the source");
    /// # drop(judged);
    /// ```
    pub fn explanation(mut self, explanation: &str) -> Self {
        self.explanation = Some(explanation.to_string());
        self
    }

    /// The evaluation's name.
    ///
    /// ```
    /// assert_eq!(trace_runtime::Evaluation::new("relevance").name(), "relevance");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The evaluation's attributes under their static keys, strings cut at the value limit.
    pub(crate) fn attrs(&self) -> Vec<Attr> {
        let mut attrs = vec![Attr::new("gen_ai.evaluation.name", AttrValue::copy_str(&self.name))];
        if let Some(score) = self.score {
            attrs.push(Attr::new("gen_ai.evaluation.score.value", AttrValue::F64(score)));
        }
        if let Some(label) = &self.label {
            attrs.push(Attr::new("gen_ai.evaluation.score.label", AttrValue::copy_str(label)));
        }
        if let Some(explanation) = &self.explanation {
            attrs.push(Attr::new("gen_ai.evaluation.explanation", AttrValue::copy_str(explanation)));
        }
        attrs
    }
}

fn event_attributes(attrs: &[Attr]) -> Vec<KeyValue> {
    attrs.iter().map(|a| a.clone().take_key_value()).collect()
}

/// Records `evaluation` on the current span, as a `gen_ai.evaluation.result` event (see
/// [`Evaluation`] for an example). Outside a recording span it does nothing.
pub fn record_evaluation(evaluation: Evaluation) {
    if super::thread_state::writable() {
        super::add_event("gen_ai.evaluation.result", event_attributes(&evaluation.attrs()));
    }
}

/// Records `evaluation` on the span of `cx`, which may have ended: an evaluation computed later
/// (a judge model scoring an answer) names the span it scores.
///
/// A finished span cannot take an event any more, so the evaluation is a span of its own, named
/// `gen_ai.evaluation.result`, a child of the scored span, holding the `gen_ai.evaluation.*`
/// attributes and the same event; viewers show it under the span it judges.
///
/// ```
/// use trace_runtime::{current_context, span, testing, trace, Evaluation};
///
/// let (_, spans) = testing::capture(|| {
///     let answered = trace!("answer", { current_context() });
///     // ... later, once a judge has looked at the answer:
///     span::record_evaluation_on(answered, Evaluation::new("correctness").label("pass"));
/// });
/// let answer = spans.iter().find(|s| s.name == "answer").unwrap();
/// let eval = spans.iter().find(|s| s.name == "gen_ai.evaluation.result").unwrap();
/// assert_eq!(eval.parent_span_id, answer.span_context.span_id());
/// assert!(eval.attributes.iter().any(|kv| kv.key.as_str() == "gen_ai.evaluation.score.label"));
/// ```
pub fn record_evaluation_on(cx: Context, evaluation: Evaluation) {
    if cx.span_id == 0 {
        return;
    }
    cx.in_scope(|| {
        crate::trace!("gen_ai.evaluation.result", {
            let attrs = evaluation.attrs();
            super::add_event("gen_ai.evaluation.result", event_attributes(&attrs));
            for attr in attrs {
                super::set_attr(attr);
            }
        })
    });
}
