//! Text formatting shared by the commands: times, durations, costs, aligned tables.

use std::time::SystemTime;

use trace_runtime::store::format_rfc3339;

/// `2024-12-01 14:30:22` (UTC).
pub(crate) fn when(t: SystemTime) -> String {
    format_rfc3339(t).chars().take(19).collect::<String>().replace('T', " ")
}

/// `2024-12-01 14:30:22.123` (UTC): log records a few milliseconds apart stay in order to the eye.
pub(crate) fn when_precise(t: SystemTime) -> String {
    format_rfc3339(t).chars().take(23).collect::<String>().replace('T', " ")
}

/// Seconds as `850 µs`, `12.30 ms` or `1.23 s`.
pub(crate) fn duration(seconds: f64) -> String {
    if seconds < 0.001 {
        format!("{:.0} µs", seconds * 1e6)
    } else if seconds < 1.0 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{seconds:.2} s")
    }
}

/// `$0.000021`, `$1.2345`, or `-` when unpriced (never a made-up $0).
pub(crate) fn cost(cost: Option<f64>) -> String {
    match cost {
        None => "-".into(),
        Some(c) if c.abs() < 0.01 => format!("${c:.6}"),
        Some(c) => format!("${c:.4}"),
    }
}

/// `text` safe to print to a terminal: control characters (escape sequences, carriage returns,
/// newlines that would break a table or a tree) written as `\u{1b}`. Names come from files
/// anyone may have written.
pub(crate) fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Columns padded to their widest cell.
pub(crate) struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(header: &[&str]) -> Self {
        Table { rows: vec![header.iter().map(|h| h.to_string()).collect()] }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.iter().map(|c| printable(c)).collect());
    }

    /// `right[i]`: column `i` is right-aligned. The last column is never padded.
    pub(crate) fn render(&self, right: &[bool]) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| self.rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c > 0 {
                    line.push_str("  ");
                }
                let pad = widths[c].saturating_sub(cell.chars().count());
                if right.get(c).copied().unwrap_or(false) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else if c + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_unpriced() {
        assert_eq!(duration(0.000_85), "850 µs");
        assert_eq!(duration(0.0123), "12.30 ms");
        assert_eq!(duration(1.234), "1.23 s");
        assert_eq!(cost(None), "-");
        assert_eq!(cost(Some(0.000_021)), "$0.000021");
        assert_eq!(cost(Some(1.5)), "$1.5000");
    }

    #[test]
    fn control_characters_are_shown_not_sent_to_the_terminal() {
        assert_eq!(printable("plain · ümlaut"), "plain · ümlaut");
        assert_eq!(printable("red\x1b[31m\nnext"), "red\\u{1b}[31m\\u{a}next");
        let mut t = Table::new(&["NAME"]);
        t.row(vec!["\x1b]0;owned\x07".into()]);
        assert!(!t.render(&[false]).contains('\x1b'));
    }

    #[test]
    fn tables_align() {
        let mut t = Table::new(&["A", "N"]);
        t.row(vec!["long".into(), "7".into()]);
        assert_eq!(t.render(&[false, true]), "A     N\nlong  7\n");
    }
}
