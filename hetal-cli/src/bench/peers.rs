//! Peer figures (`--compare`): a JSON object whose object-valued members are peers, each
//! mapping `<op>_ms` to a time in milliseconds; other members (such as `"source"`) and other
//! fields of a peer are metadata and ignored. The comparison gives ours / peer per operation
//! present on both sides.

use super::timing::fmt_ms;
use super::{BenchError, Record};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The peers file: its `"source"` text (if any) and, per peer, milliseconds per operation.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerTable {
    /// Where the figures come from (the file's `"source"` member).
    pub source: Option<String>,
    /// Peer -> operation (without `_ms`) -> milliseconds.
    pub peers: BTreeMap<String, BTreeMap<String, f64>>,
}

/// Reads and checks a peers file.
pub fn load(path: &Path) -> Result<PeerTable, BenchError> {
    let text = std::fs::read_to_string(path).map_err(|source| BenchError::PeersRead { path: path.into(), source })?;
    parse(path, &text)
}

/// Parses the text of a peers file; `path` names it in errors.
fn parse(path: &Path, text: &str) -> Result<PeerTable, BenchError> {
    let bad = |reason: String| BenchError::PeersFormat { path: path.into(), reason };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let top = value.as_object().ok_or_else(|| bad("the top level is not an object".into()))?;
    let mut peers = BTreeMap::new();
    for (peer, fields) in top {
        let Some(fields) = fields.as_object() else { continue };
        let mut figures = BTreeMap::new();
        for (key, value) in fields {
            let Some(op) = key.strip_suffix("_ms") else { continue };
            let ms = value
                .as_f64()
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| bad(format!("{peer}.{key} is {value}, not a positive number of milliseconds")))?;
            figures.insert(op.to_string(), ms);
        }
        if !figures.is_empty() {
            peers.insert(peer.clone(), figures);
        }
    }
    if peers.is_empty() {
        return Err(bad("no peer has any \"<op>_ms\" figure".into()));
    }
    let source = top.get("source").and_then(|s| s.as_str()).map(str::to_owned);
    Ok(PeerTable { source, peers })
}

/// One operation measured by us and by a peer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// The peer (a member name of the file).
    pub peer: String,
    /// The operation.
    pub op: String,
    /// Our median time, milliseconds.
    pub ours_ms: f64,
    /// The peer's time, milliseconds.
    pub peer_ms: f64,
    /// `ours_ms / peer_ms`: below 1, ours is faster.
    pub ratio: f64,
}

/// Every (operation, peer) pair present in both, in the order of our rows, then of peers.
pub fn compare(table: &PeerTable, records: &[Record]) -> Vec<Comparison> {
    let mut rows = Vec::new();
    for r in records {
        for (peer, figures) in &table.peers {
            if let Some(&peer_ms) = figures.get(&r.op) {
                rows.push(Comparison {
                    peer: peer.clone(),
                    op: r.op.clone(),
                    ours_ms: r.median_ms,
                    peer_ms,
                    ratio: r.median_ms / peer_ms,
                });
            }
        }
    }
    rows
}

/// The comparison as a text table.
pub fn print(out: &mut dyn Write, source: Option<&str>, rows: &[Comparison]) -> std::io::Result<()> {
    writeln!(out, "\ncomparison with peers (ours / peer, median times; below 1: ours is faster)")?;
    if let Some(source) = source {
        writeln!(out, "peer figures: {source}")?;
    }
    if rows.is_empty() {
        writeln!(out, "  no operation of this run is in the peers file")?;
        return Ok(());
    }
    let head = format!("{:<24} {:<20} {:>11} {:>11} {:>8}", "operation", "peer", "ours", "peer", "ratio");
    writeln!(out, "{head}")?;
    writeln!(out, "{}", "-".repeat(head.len()))?;
    for c in rows {
        writeln!(
            out,
            "{:<24} {:<20} {:>11} {:>11} {:>8.2}",
            c.op,
            c.peer,
            fmt_ms(c.ours_ms),
            fmt_ms(c.peer_ms),
            c.ratio
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::Suite;

    fn record(op: &str, median_ms: f64) -> Record {
        Record {
            suite: Suite::Ops,
            op: op.into(),
            what: op.into(),
            preset: "p".into(),
            level: None,
            runs: 1,
            min_ms: median_ms,
            median_ms,
            precision_bits: None,
            levels_left: None,
            detail: None,
        }
    }

    #[test]
    fn parses_peers_and_skips_metadata() {
        let text = r#"{"source": "RESULTS.md", "notes": {"a": "text"},
            "openfhe": {"mul_relin_rescale_ms": 400.0, "add_ms": 5, "threads": 1}, "seal": {"add_ms": 2.5}}"#;
        let t = parse(Path::new("p.json"), text).unwrap();
        assert_eq!(t.source.as_deref(), Some("RESULTS.md"));
        assert_eq!(t.peers.len(), 2, "notes has no figure: {:?}", t.peers.keys());
        assert_eq!(t.peers["openfhe"]["add"], 5.0);
        let rows = compare(&t, &[record("add", 10.0), record("mul_relin_rescale", 100.0), record("rotate", 1.0)]);
        let got: Vec<(&str, &str, f64)> = rows.iter().map(|c| (c.op.as_str(), c.peer.as_str(), c.ratio)).collect();
        assert_eq!(got, vec![("add", "openfhe", 2.0), ("add", "seal", 4.0), ("mul_relin_rescale", "openfhe", 0.25)]);
        let mut text = Vec::new();
        print(&mut text, t.source.as_deref(), &rows).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("0.25") && text.contains("seal") && text.contains("RESULTS.md"), "{text}");
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let p = Path::new("peers.json");
        let msg = |text: &str| parse(p, text).unwrap_err().to_string();
        assert!(msg("{not json").contains("not JSON"));
        assert!(msg("[1, 2]").contains("top level is not an object"));
        assert!(msg(r#"{"source": "x"}"#).contains("no peer"));
        let m = msg(r#"{"openfhe": {"add_ms": "fast"}}"#);
        assert!(m.contains("openfhe.add_ms") && m.contains("\"fast\""), "{m}");
        assert!(msg(r#"{"openfhe": {"add_ms": -1}}"#).contains("positive"));
        let err = load(Path::new("/nonexistent/peers.json")).unwrap_err();
        assert!(matches!(err, BenchError::PeersRead { .. }) && err.to_string().contains("/nonexistent/peers.json"));
    }
}
