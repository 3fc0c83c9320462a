//! Training curves as a self-contained SVG (no dependency, no script, no external font): two
//! panels side by side, validation loss and validation accuracy per epoch, one polyline with
//! markers per series (for example "encrypted" and "plaintext"), axes with ticks, and a shared
//! legend below the panels.

use std::fmt::Write as _;

/// One named curve: `(epoch, value)` points, drawn in the given order.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// The points; NaN or infinite ones are skipped (the curve joins its neighbours).
    pub points: Vec<(f64, f64)>,
}

/// Size of the whole picture, in SVG user units (the `viewBox`).
const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 440.0;
/// Top of the panels (below the title) and their height.
const PANEL_TOP: f64 = 56.0;
const PANEL_HEIGHT: f64 = 300.0;
/// Margins inside each half: room for tick labels on the left, the axis label below.
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
/// Baseline of the legend.
const LEGEND_Y: f64 = 420.0;
/// Series colours (colour-blind safe, Okabe-Ito), reused cyclically.
const COLOURS: [&str; 6] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
/// Markers of a series beyond this many points are left out (the line stays).
const MAX_MARKERS: usize = 200;

/// The text with `&`, `<`, `>` and quotes escaped, for SVG text and attributes.
fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// A "nice" tick step (1, 2 or 5 times a power of ten) giving about five intervals over `span`.
fn nice_step(span: f64) -> f64 {
    let raw = span / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let residual = raw / magnitude;
    let nice = if residual <= 1.0 {
        1.0
    } else if residual <= 2.0 {
        2.0
    } else if residual <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// One axis: the range shown (rounded out to whole ticks) and the tick step.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Axis {
    lo: f64,
    hi: f64,
    step: f64,
}

impl Axis {
    /// Covers `values` (finite ones only). An empty set shows `0..1`; a single value, or equal
    /// ones, get a range around them so that nothing divides by zero. `integer` (epochs) keeps
    /// the step at 1 or more.
    fn covering(values: impl Iterator<Item = f64>, integer: bool) -> Self {
        let (mut lo, mut hi) = values
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if lo > hi {
            (lo, hi) = (0.0, 1.0);
        }
        if hi - lo <= f64::EPSILON * lo.abs().max(1.0) {
            let pad = if integer { 1.0 } else { (lo.abs() * 0.1).max(0.05) };
            (lo, hi) = (lo - pad, hi + pad);
        }
        let mut step = nice_step(hi - lo);
        if integer {
            step = step.max(1.0).round();
        }
        Self { lo: (lo / step).floor() * step, hi: (hi / step).ceil() * step, step }
    }

    /// The tick values from `lo` to `hi`.
    fn ticks(&self) -> Vec<f64> {
        let n = ((self.hi - self.lo) / self.step).round() as usize;
        // Multiplying (not accumulating) keeps the ticks free of drift; `+ 0.0` turns -0 into 0.
        (0..=n).map(|i| self.lo + i as f64 * self.step + 0.0).collect()
    }

    /// Decimals that show the step exactly (0 for steps of 1 or more).
    fn decimals(&self) -> usize {
        (-self.step.log10().floor()).max(0.0) as usize
    }

    /// Where `v` lands between `from` (at `lo`) and `to` (at `hi`).
    fn map(&self, v: f64, from: f64, to: f64) -> f64 {
        from + (v - self.lo) / (self.hi - self.lo) * (to - from)
    }
}

/// Draws one panel (frame, grid, ticks, labels, curves) whose left edge is at `x0`.
fn panel(svg: &mut String, x0: f64, width: f64, title: &str, y_label: &str, series: &[Series]) {
    let points = || series.iter().flat_map(|s| s.points.iter()).filter(|(x, y)| x.is_finite() && y.is_finite());
    let ax = Axis::covering(points().map(|p| p.0), points().all(|p| p.0.fract() == 0.0));
    let ay = Axis::covering(points().map(|p| p.1), false);
    let (left, right) = (x0 + LEFT, x0 + width - RIGHT);
    let (top, bottom) = (PANEL_TOP, PANEL_TOP + PANEL_HEIGHT);
    let px = |x: f64| ax.map(x, left, right);
    let py = |y: f64| ay.map(y, bottom, top);

    // Writing into a String cannot fail: the results of `writeln!` are ignored.
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
        (left + right) / 2.0,
        top - 10.0,
        escape(title)
    );
    let _ = writeln!(svg, r##"<g stroke="#e4e4e4" stroke-width="1">"##);
    for t in ay.ticks() {
        let _ = writeln!(svg, r#"<line x1="{left:.1}" y1="{y:.1}" x2="{right:.1}" y2="{y:.1}"/>"#, y = py(t));
    }
    for t in ax.ticks() {
        let _ = writeln!(svg, r#"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}"/>"#, x = px(t));
    }
    let _ = writeln!(svg, "</g>");
    let _ = writeln!(
        svg,
        r##"<rect x="{left:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#333"/>"##,
        right - left,
        bottom - top
    );
    let _ = writeln!(svg, r##"<g font-size="12" fill="#333">"##);
    for t in ay.ticks() {
        let y = py(t);
        let _ =
            writeln!(svg, r##"<line x1="{:.1}" y1="{y:.1}" x2="{left:.1}" y2="{y:.1}" stroke="#333"/>"##, left - 5.0);
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{:.*}</text>"#,
            left - 8.0,
            y + 4.0,
            ay.decimals(),
            t
        );
    }
    for t in ax.ticks() {
        let x = px(t);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{bottom:.1}" x2="{x:.1}" y2="{:.1}" stroke="#333"/>"##,
            bottom + 5.0
        );
        let _ = writeln!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{:.*}</text>"#,
            bottom + 19.0,
            ax.decimals(),
            t
        );
    }
    let _ = writeln!(svg, "</g>");
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13">epoch</text>"#,
        (left + right) / 2.0,
        bottom + 40.0
    );
    let (lx, ly) = (x0 + 18.0, (top + bottom) / 2.0);
    let _ = writeln!(
        svg,
        r#"<text x="{lx:.1}" y="{ly:.1}" text-anchor="middle" font-size="13" transform="rotate(-90 {lx:.1} {ly:.1})">{}</text>"#,
        escape(y_label)
    );

    for (k, s) in series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let pts: Vec<(f64, f64)> =
            s.points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()).map(|&(x, y)| (px(x), py(y))).collect();
        if pts.len() > 1 {
            let list: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.2},{y:.2}")).collect();
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2" stroke-linejoin="round"/>"#,
                list.join(" ")
            );
        }
        if pts.len() <= MAX_MARKERS {
            let _ = writeln!(svg, r#"<g fill="{colour}" stroke="white" stroke-width="1">"#);
            for (x, y) in &pts {
                let _ = writeln!(svg, r#"<circle cx="{x:.2}" cy="{y:.2}" r="3.5"/>"#);
            }
            let _ = writeln!(svg, "</g>");
        }
    }
}

/// The legend, centred below the panels: a line and marker per label, in series order.
fn legend(svg: &mut String, labels: &[&str]) {
    // Width estimate of 12-px text without font metrics: about 7 units per character.
    let entry = |l: &str| 44.0 + 7.0 * l.chars().count() as f64;
    let total: f64 = labels.iter().map(|l| entry(l)).sum();
    let mut x = ((WIDTH - total) / 2.0).max(4.0);
    let _ = writeln!(svg, r#"<g font-size="13">"#);
    for (k, label) in labels.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let _ = writeln!(
            svg,
            r#"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="2"/>"#,
            x + 28.0,
            y = LEGEND_Y - 4.0
        );
        let _ = writeln!(svg, r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{colour}"/>"#, x + 14.0, LEGEND_Y - 4.0);
        let _ = writeln!(svg, r#"<text x="{:.1}" y="{LEGEND_Y:.1}">{}</text>"#, x + 34.0, escape(label));
        x += entry(label);
    }
    let _ = writeln!(svg, "</g>");
}

/// An SVG document with the title on top, validation loss per epoch on the left and validation
/// accuracy per epoch on the right. Series of the same index share a colour across the two
/// panels; the legend lists the labels of `loss`, then labels of `accuracy` not already listed.
/// Every coordinate lies inside the `viewBox`, whatever the data (one point, equal values,
/// NaN or infinite points, which are skipped, or no series at all).
pub fn training_curves_svg(title: &str, loss: &[Series], accuracy: &[Series]) -> String {
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-family="Helvetica, Arial, sans-serif">"#
    );
    let _ = writeln!(svg, r#"<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="24" text-anchor="middle" font-size="17" font-weight="bold">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );
    let half = WIDTH / 2.0;
    panel(&mut svg, 0.0, half, "validation loss", "cross-entropy", loss);
    // The colour of a series follows its index; align accuracy series to the loss series of
    // the same label so that "encrypted" has one colour in both panels.
    let mut ordered: Vec<Series> = Vec::new();
    let mut labels: Vec<&str> = loss.iter().map(|s| s.label.as_str()).collect();
    for s in accuracy {
        if !labels.contains(&s.label.as_str()) {
            labels.push(&s.label);
        }
    }
    for label in &labels {
        let points = accuracy.iter().find(|s| s.label == *label).map(|s| s.points.clone()).unwrap_or_default();
        ordered.push(Series { label: label.to_string(), points });
    }
    panel(&mut svg, half, half, "validation accuracy", "accuracy", &ordered);
    legend(&mut svg, &labels);
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks that every tag is closed in order (self-closing tags aside): enough of XML to
    /// catch a missing `</g>` or a stray `<`.
    fn balanced(svg: &str) -> Result<(), String> {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').ok_or("unclosed '<'")? + start;
            let tag = &rest[start + 1..end];
            if let Some(name) = tag.strip_prefix('/') {
                let open = stack.pop().ok_or(format!("</{name}> without an opening tag"))?;
                if open != name.trim() {
                    return Err(format!("<{open}> closed by </{name}>"));
                }
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().unwrap_or("").to_string());
            }
            if tag.contains('<') {
                return Err(format!("'<' inside tag {tag}"));
            }
            rest = &rest[end + 1..];
        }
        if stack.is_empty() {
            Ok(())
        } else {
            Err(format!("unclosed {stack:?}"))
        }
    }

    /// Every number of a coordinate attribute (and of `points`), as `(attribute, value)`.
    fn coordinates(svg: &str) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        for attr in ["x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "points"] {
            let key = format!(" {attr}=\"");
            let mut rest = svg;
            while let Some(i) = rest.find(&key) {
                let value_start = i + key.len();
                let len = rest[value_start..].find('"').unwrap();
                for n in rest[value_start..value_start + len].split([' ', ',']) {
                    out.push((attr.to_string(), n.parse::<f64>().unwrap_or(f64::NAN)));
                }
                rest = &rest[value_start + len..];
            }
        }
        out
    }

    fn check_inside(svg: &str) {
        let coords = coordinates(svg);
        assert!(coords.len() > 20, "{coords:?}");
        for (attr, v) in coords {
            let limit = if attr.starts_with('y') || attr.starts_with("cy") { HEIGHT } else { WIDTH };
            let limit = if attr == "points" { WIDTH.max(HEIGHT) } else { limit };
            assert!(v.is_finite() && (0.0..=limit).contains(&v), "{attr} = {v} outside the viewBox");
        }
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }

    fn series(label: &str, values: &[f64]) -> Series {
        Series { label: label.into(), points: values.iter().enumerate().map(|(i, &v)| ((i + 1) as f64, v)).collect() }
    }

    #[test]
    fn two_panels_with_labels_and_balanced_tags() {
        let loss = [series("encrypted", &[2.2, 1.5, 1.1, 0.9]), series("plaintext", &[2.2, 1.49, 1.12, 0.88])];
        let acc = [series("encrypted", &[0.3, 0.6, 0.8, 0.85]), series("plaintext", &[0.31, 0.6, 0.79, 0.86])];
        let svg = training_curves_svg("digits <0123> & co", &loss, &acc);
        balanced(&svg).unwrap();
        check_inside(&svg);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for text in ["encrypted", "plaintext", "validation loss", "validation accuracy", "epoch", "&lt;0123&gt; &amp;"]
        {
            assert!(svg.contains(text), "missing {text}");
        }
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert_eq!(svg.matches("<circle").count(), 16 + 2, "4 markers per series and one per legend entry");
        // Polylines of the right panel start in the right half.
        let right: Vec<&str> = svg.split("<polyline points=\"").skip(3).collect();
        let first_x: f64 = right[0].split(',').next().unwrap().parse().unwrap();
        assert!(first_x > WIDTH / 2.0, "{first_x}");
    }

    #[test]
    fn degenerate_data_stays_inside() {
        let one = [series("only", &[0.5])];
        let flat = [series("flat", &[1.0, 1.0, 1.0])];
        let holes = [Series { label: "holes".into(), points: vec![(1.0, f64::NAN), (2.0, 0.3), (f64::INFINITY, 0.1)] }];
        for (loss, acc) in [(&one[..], &flat[..]), (&flat[..], &one[..]), (&holes[..], &[][..]), (&[][..], &[][..])] {
            let svg = training_curves_svg("t", loss, acc);
            balanced(&svg).unwrap();
            check_inside(&svg);
        }
        let svg = training_curves_svg("t", &one, &one);
        assert_eq!(svg.matches("<polyline").count(), 0, "one point is a marker, not a line");
    }

    #[test]
    fn accuracy_series_share_the_colour_of_their_loss_series() {
        let loss = [series("a", &[1.0, 0.5]), series("b", &[1.0, 0.6])];
        let acc = [series("b", &[0.5, 0.6]), series("c", &[0.1, 0.2])];
        let svg = training_curves_svg("t", &loss, &acc);
        let lines: Vec<&str> = svg.lines().filter(|l| l.starts_with("<polyline")).collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[2].contains(COLOURS[1]), "b keeps its colour: {}", lines[2]);
        assert!(lines[3].contains(COLOURS[2]), "c gets the next one: {}", lines[3]);
        for label in ["a", "b", "c"] {
            assert!(svg.contains(&format!(">{label}</text>")), "legend entry {label}");
        }
    }

    #[test]
    fn axes_round_out_to_nice_ticks() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        // Span 0.55: steps of 0.2 give five intervals from 0.2 to 1.0.
        let a = Axis::covering([0.31, 0.86].into_iter(), false);
        assert!(close(a.lo, 0.2) && close(a.hi, 1.0) && close(a.step, 0.2), "{a:?}");
        assert_eq!(a.decimals(), 1);
        assert_eq!(a.ticks().len(), 5);
        let e = Axis::covering([1.0, 2.0].into_iter(), true);
        assert_eq!(e.step, 1.0);
        assert!(e.ticks().iter().all(|t| t.fract() == 0.0));
        let single = Axis::covering([3.0].into_iter(), true);
        assert!(single.lo < 3.0 && single.hi > 3.0);
        let empty = Axis::covering(std::iter::empty(), false);
        assert_eq!((empty.lo, empty.hi), (0.0, 1.0));
        assert!(close(nice_step(7.3), 2.0) && close(nice_step(0.04), 0.01));
    }
}
