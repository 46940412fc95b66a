//! Hand-written SVG for the training report: no plotting dependency, and every browser
//! opens the result.

use std::fmt::Write;

/// One epoch's numbers.
pub struct EpochStats {
    pub train_loss: f32,
    pub test_loss: f32,
    pub test_accuracy: f32,
}

const WIDTH: f32 = 360.0;
const HEIGHT: f32 = 240.0;
const MARGIN: f32 = 44.0;

/// Two panels side by side: train and test loss, and test accuracy, per epoch.
pub fn training_curves(stats: &[EpochStats]) -> String {
    let mut svg = String::new();
    let total_width = 2.0 * WIDTH + 20.0;
    writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{total_width}" height="{HEIGHT}" font-family="sans-serif" font-size="12">"#
    )
    .unwrap();
    writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#).unwrap();
    let train: Vec<f32> = stats.iter().map(|s| s.train_loss).collect();
    let test: Vec<f32> = stats.iter().map(|s| s.test_loss).collect();
    let accuracy: Vec<f32> = stats.iter().map(|s| s.test_accuracy).collect();
    let max_loss = train.iter().chain(&test).fold(0.0f32, |m, &v| m.max(v)).max(1e-6);
    panel(&mut svg, 0.0, "loss", (0.0, max_loss), &[("train", "#1f77b4", &train), ("test", "#ff7f0e", &test)]);
    let low = accuracy.iter().fold(1.0f32, |m, &v| m.min(v)).min(0.9);
    panel(&mut svg, WIDTH + 20.0, "test accuracy", (low, 1.0), &[("test", "#2ca02c", &accuracy)]);
    svg.push_str("</svg>\n");
    svg
}

fn panel(svg: &mut String, x0: f32, title: &str, (lo, hi): (f32, f32), series: &[(&str, &str, &[f32])]) {
    let (left, right, top, bottom) = (x0 + MARGIN, x0 + WIDTH - 10.0, 24.0, HEIGHT - 30.0);
    let n = series.iter().map(|s| s.2.len()).max().unwrap_or(0);
    let x = |i: usize| if n <= 1 { left } else { left + (right - left) * i as f32 / (n - 1) as f32 };
    let y = |v: f32| bottom - (bottom - top) * (v - lo) / (hi - lo).max(1e-9);
    writeln!(
        svg,
        r#"<text x="{}" y="16" text-anchor="middle" font-weight="bold">{title}</text>"#,
        (left + right) / 2.0
    )
    .unwrap();
    writeln!(
        svg,
        r##"<rect x="{left}" y="{top}" width="{}" height="{}" fill="none" stroke="#888"/>"##,
        right - left,
        bottom - top
    )
    .unwrap();
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f32 / 4.0;
        writeln!(svg, r#"<text x="{}" y="{}" text-anchor="end">{v:.3}</text>"#, left - 4.0, y(v) + 4.0).unwrap();
    }
    for i in 0..n {
        writeln!(svg, r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#, x(i), bottom + 16.0, i + 1).unwrap();
    }
    writeln!(svg, r#"<text x="{}" y="{}" text-anchor="middle">epoch</text>"#, (left + right) / 2.0, HEIGHT - 2.0)
        .unwrap();
    for (k, (name, colour, values)) in series.iter().enumerate() {
        let points: Vec<String> = values.iter().enumerate().map(|(i, &v)| format!("{:.1},{:.1}", x(i), y(v))).collect();
        writeln!(svg, r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#, points.join(" "))
            .unwrap();
        for p in &points {
            let (px, py) = p.split_once(',').unwrap();
            writeln!(svg, r#"<circle cx="{px}" cy="{py}" r="3" fill="{colour}"/>"#).unwrap();
        }
        let ly = top + 16.0 + 16.0 * k as f32;
        writeln!(svg, r#"<text x="{}" y="{ly}" text-anchor="end" fill="{colour}">{name}</text>"#, right - 6.0).unwrap();
    }
}

/// The first layer's filters as grey squares (black = most negative, white = most
/// positive, each filter scaled on its own), `count` filters of `size × size`.
pub fn filters(weights: &[f32], count: usize, size: usize) -> String {
    let cell = 16.0;
    let gap = 12.0;
    let width = count as f32 * (size as f32 * cell + gap) + gap;
    let height = size as f32 * cell + 2.0 * gap + 16.0;
    let mut svg = String::new();
    writeln!(svg, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#)
        .unwrap();
    writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#).unwrap();
    for f in 0..count {
        let kernel = &weights[f * size * size..(f + 1) * size * size];
        let (min, max) = kernel.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let x0 = gap + f as f32 * (size as f32 * cell + gap);
        for (i, &v) in kernel.iter().enumerate() {
            let grey = (255.0 * (v - min) / (max - min).max(1e-9)).round() as u8;
            let (r, c) = (i / size, i % size);
            writeln!(
                svg,
                r#"<rect x="{}" y="{}" width="{cell}" height="{cell}" fill="rgb({grey},{grey},{grey})"/>"#,
                x0 + c as f32 * cell,
                gap + r as f32 * cell
            )
            .unwrap();
        }
        writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">filter {}</text>"#,
            x0 + size as f32 * cell / 2.0,
            height - 6.0,
            f + 1
        )
        .unwrap();
    }
    svg.push_str("</svg>\n");
    svg
}
