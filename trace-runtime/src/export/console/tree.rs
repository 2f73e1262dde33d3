//! The tree of one trace's spans, walked the same way by the console and by
//! [`testing::snapshot`](crate::testing::snapshot): children under their parent, siblings by
//! start time (then name), every span once even with duplicate or cyclic parent ids.

use std::collections::HashMap;

use opentelemetry::trace::SpanId;
use opentelemetry_sdk::trace::SpanData;

pub(crate) struct SpanTree<'a> {
    spans: &'a [SpanData],
    pub(crate) index: HashMap<SpanId, usize>,
    children: Vec<Vec<usize>>,
    /// Spans whose parent is not among them (or is remote): the roots of the forest.
    pub(crate) tops: Vec<usize>,
    /// Spans folded into a group's first ([`Self::group_repeated`]): never visited.
    folded: Vec<bool>,
}

impl<'a> SpanTree<'a> {
    pub(crate) fn new(spans: &'a [SpanData]) -> Self {
        let index: HashMap<SpanId, usize> =
            spans.iter().enumerate().map(|(i, s)| (s.span_context.span_id(), i)).collect();
        let mut tree = SpanTree {
            spans,
            index,
            children: vec![Vec::new(); spans.len()],
            tops: Vec::new(),
            folded: vec![false; spans.len()],
        };
        for i in 0..spans.len() {
            match tree.parent(i) {
                Some(p) => tree.children[p].push(i),
                None => tree.tops.push(i),
            }
        }
        let order = |list: &mut Vec<usize>| {
            list.sort_by(|&a, &b| {
                (spans[a].start_time, &spans[a].name).cmp(&(spans[b].start_time, &spans[b].name))
            })
        };
        order(&mut tree.tops);
        tree.children.iter_mut().for_each(order);
        tree
    }

    /// Folds leaf siblings that share a name and come `min` times or more into their first:
    /// the walk then visits that one only, and the returned map gives every member of its group
    /// (a per-frame step run 50 times prints as one line).
    pub(crate) fn group_repeated(&mut self, min: usize) -> HashMap<usize, Vec<usize>> {
        let spans = self.spans;
        let leaf: Vec<bool> = self.children.iter().map(Vec::is_empty).collect();
        let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
        for list in self.children.iter_mut().chain(std::iter::once(&mut self.tops)) {
            let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
            for &i in list.iter().filter(|&&i| leaf[i]) {
                by_name.entry(spans[i].name.as_ref()).or_default().push(i);
            }
            let mut folded = std::collections::HashSet::new();
            for members in by_name.into_values().filter(|m| m.len() >= min) {
                folded.extend(members[1..].iter().copied());
                groups.insert(members[0], members);
            }
            list.retain(|i| !folded.contains(i));
            for i in folded {
                self.folded[i] = true;
            }
        }
        groups
    }

    /// The local parent of span `i`, if it is among the spans.
    pub(crate) fn parent(&self, i: usize) -> Option<usize> {
        let span = &self.spans[i];
        self.index.get(&span.parent_span_id).copied().filter(|&p| p != i && !span.parent_span_is_remote)
    }

    pub(crate) fn children(&self, i: usize) -> &[usize] {
        &self.children[i]
    }

    /// Visits every span once, depth first: `visit(i, prefix, child_prefix)`, where `prefix`
    /// ends with the span's connector (`├─ `, `└─ `) and `child_prefix` is what its own lines
    /// below it start with. Indentation stops growing past `max_levels`; spans in a parent cycle
    /// (corrupt ids) hang off no top, and come after the tops instead of being dropped.
    /// Iterative, so deep nesting cannot overflow the stack.
    pub(crate) fn walk(&self, max_levels: usize, mut visit: impl FnMut(usize, &str, &str)) {
        let mut visited = self.folded.clone();
        for top in self.tops.iter().copied().chain(0..self.spans.len()) {
            let mut stack: Vec<(usize, String, Option<bool>)> = vec![(top, String::new(), None)];
            while let Some((i, prefix, last)) = stack.pop() {
                if std::mem::replace(&mut visited[i], true) {
                    continue;
                }
                let (connector, extend) = match last {
                    None => ("", ""),
                    Some(false) => ("├─ ", "│  "),
                    Some(true) => ("└─ ", "   "),
                };
                let mut child_prefix = prefix.clone();
                if prefix.chars().count() < max_levels * 3 {
                    child_prefix.push_str(extend);
                }
                visit(i, &format!("{prefix}{connector}"), &child_prefix);
                let kids = &self.children[i];
                for (k, &kid) in kids.iter().enumerate().rev() {
                    stack.push((kid, child_prefix.clone(), Some(k + 1 == kids.len())));
                }
            }
        }
    }
}
