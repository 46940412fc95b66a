//! A tiny SVG writer: a figure is a list of elements (rectangles, lines, arrows, text)
//! accumulated as text and saved with a `viewBox`, so it scales in any browser.

use std::fmt::Write;

/// A fill and a stroke colour: one per role, the same in every figure.
#[derive(Clone, Copy)]
pub struct Paint {
    pub fill: &'static str,
    pub stroke: &'static str,
}

// Okabe–Ito colours, distinguishable with the common kinds of colour blindness.
pub const INPUT: Paint = Paint { fill: "#d3e8f6", stroke: "#0072b2" }; // blue
pub const KERNEL: Paint = Paint { fill: "#fde3b5", stroke: "#b87f00" }; // orange
pub const OUTPUT: Paint = Paint { fill: "#bfe6d5", stroke: "#009e73" }; // bluish green
pub const PADDING: Paint = Paint { fill: "#f0f0f0", stroke: "#8c8c8c" }; // grey
/// An operation such as Σ, drawn as a circle.
pub const OPERATION: Paint = Paint { fill: "#ffffff", stroke: "#222222" };
/// Highlights: the first and the second position of a sliding window and what they produce.
pub const FIRST: Paint = Paint { fill: "#f6cfb6", stroke: "#d55e00" }; // vermillion
pub const SECOND: Paint = Paint { fill: "#f1d0e4", stroke: "#b0508f" }; // reddish purple, darkened
pub const INK: &str = "#222222";
pub const MUTED: &str = "#555555";

/// How a piece of text looks: size in px, alignment, weight and colour.
#[derive(Clone, Copy)]
pub struct Font {
    pub size: f32,
    /// `"start"`, `"middle"` or `"end"`: which point of the text `x` is.
    pub anchor: &'static str,
    pub bold: bool,
    pub color: &'static str,
}

/// Numbers inside grid cells, and labels centred under a grid.
pub const LABEL: Font = Font { size: 14.0, anchor: "middle", bold: false, color: INK };
/// Left-aligned explanations.
pub const NOTE: Font = Font { size: 13.0, anchor: "start", bold: false, color: MUTED };
/// Operators between grids: =, →, Σ.
pub const SYMBOL: Font = Font { size: 24.0, anchor: "middle", bold: false, color: INK };
const TITLE: Font = Font { size: 17.0, anchor: "start", bold: true, color: INK };

impl Font {
    pub const fn color(self, color: &'static str) -> Font {
        Font { color, ..self }
    }
    pub const fn bold(self) -> Font {
        Font { bold: true, ..self }
    }
    pub const fn start(self) -> Font {
        Font { anchor: "start", ..self }
    }
    pub const fn middle(self) -> Font {
        Font { anchor: "middle", ..self }
    }
    pub const fn end(self) -> Font {
        Font { anchor: "end", ..self }
    }
}

pub struct Svg {
    width: f32,
    height: f32,
    body: String,
    /// Colours that already have an arrowhead marker defined.
    arrowheads: Vec<&'static str>,
}

impl Svg {
    pub fn new(width: f32, height: f32) -> Svg {
        Svg { width, height, body: String::new(), arrowheads: Vec::new() }
    }

    /// The figure's title, top left, also its accessible `<title>`.
    pub fn title(&mut self, text: &str) {
        let _ = writeln!(self.body, "<title>{}</title>", escape(text));
        self.text(20.0, 30.0, TITLE, text);
    }

    /// A filled rectangle with a thin border.
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, paint: Paint) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{}" stroke="{}" stroke-width="1"/>"#,
            paint.fill, paint.stroke
        );
    }

    /// An unfilled rectangle: a highlight around cells.
    pub fn outline(&mut self, x: f32, y: f32, w: f32, h: f32, color: &str, width: f32) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="none" stroke="{color}" stroke-width="{width}"/>"#
        );
    }

    /// A thin dashed rectangle: a box around a group of things.
    pub fn dashed_outline(&mut self, x: f32, y: f32, w: f32, h: f32, color: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="none" stroke="{color}" stroke-width="1.5" stroke-dasharray="7 4"/>"#
        );
    }

    pub fn circle(&mut self, cx: f32, cy: f32, r: f32, paint: Paint) {
        let _ = writeln!(
            self.body,
            r#"<circle cx="{cx}" cy="{cy}" r="{r}" fill="{}" stroke="{}" stroke-width="1.5"/>"#,
            paint.fill, paint.stroke
        );
    }

    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, color: &str, width: f32) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{color}" stroke-width="{width}"/>"#
        );
    }

    /// A straight arrow from (x1, y1) to (x2, y2).
    pub fn arrow(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, color: &'static str) {
        let marker = self.arrowhead(color);
        let _ = writeln!(
            self.body,
            r#"<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{color}" stroke-width="2" marker-end="url(#{marker})"/>"#
        );
    }

    /// An arrow bending through the control point (cx, cy) (a quadratic Bézier curve).
    pub fn curved_arrow(&mut self, from: (f32, f32), control: (f32, f32), to: (f32, f32), color: &'static str) {
        let marker = self.arrowhead(color);
        let _ = writeln!(
            self.body,
            r#"<path d="M {} {} Q {} {} {} {}" fill="none" stroke="{color}" stroke-width="2" marker-end="url(#{marker})"/>"#,
            from.0, from.1, control.0, control.1, to.0, to.1
        );
    }

    /// The convolution (cross-correlation) operator ⋆, as PyTorch's documentation writes it,
    /// centred at (x, y). The glyph is small and sits high in most fonts: enlarged, lowered.
    pub fn star(&mut self, x: f32, y: f32) {
        self.text(x, y + 15.0, Font { size: 44.0, ..SYMBOL }, "⋆");
    }

    /// Text whose baseline starts, centres or ends at (x, y) depending on `font.anchor`.
    pub fn text(&mut self, x: f32, y: f32, font: Font, text: &str) {
        let weight = if font.bold { r#" font-weight="bold""# } else { "" };
        let _ = writeln!(
            self.body,
            r#"<text x="{x}" y="{y}" font-size="{}" text-anchor="{}" fill="{}"{weight}>{}</text>"#,
            font.size,
            font.anchor,
            font.color,
            escape(text)
        );
    }

    /// Writes the figure; `width`/`height` make 1 unit one pixel at 100% zoom.
    pub fn save(&self, path: &std::path::Path) -> std::io::Result<()> {
        let (w, h) = (self.width, self.height);
        let mut defs = String::new();
        for color in &self.arrowheads {
            let _ = writeln!(
                defs,
                r#"<marker id="arrow-{}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="{color}"/></marker>"#,
                &color[1..]
            );
        }
        let svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
             font-family=\"sans-serif\">\n<defs>\n{defs}</defs>\n<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n{}</svg>\n",
            self.body
        );
        std::fs::write(path, svg)
    }

    /// The id of an arrowhead marker in `color`, defining it on first use.
    fn arrowhead(&mut self, color: &'static str) -> String {
        if !self.arrowheads.contains(&color) {
            self.arrowheads.push(color);
        }
        format!("arrow-{}", &color[1..])
    }
}

/// Text content with XML's special characters escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
