//! Draws the figures of the convolution tutorial as SVG files in `docs/tutorial/figures/`.
//!
//! ```text
//! cargo run --release --example figures [-- --output-dir docs/tutorial/figures]
//! dot -Tsvg docs/tutorial/figures/autograd-graph.dot -o docs/tutorial/figures/autograd-graph.svg
//! ```
//!
//! Every number a figure shows is computed here with tapegrad (`F::conv2d`, `matmul`), so a
//! picture cannot disagree with the code. The SVG is written as plain text by the small
//! helper in `svg.rs`; each other module draws one figure:
//!
//! | file | figure |
//! |---|---|
//! | `sliding.rs` | sliding-stride1.svg, sliding-stride2.svg: a 3×3 kernel over a 5×5 input |
//! | `padding.rs` | padding-valid-same.svg: 'valid', 'same', and 'same' with an even kernel |
//! | `channels.rs` | multichannel.svg: C_in = 3 channels summed into one output map |
//! | `im2col.rs` | im2col.svg: patches unrolled into columns, then one matrix product |
//! | `dilation.rs` | dilation.svg: the taps of a 3×3 kernel with dilation 1 and 2 |
//! | `groups.rs` | groups.svg: which input channels feed which output channels |
//! | `autograd.rs` | autograd-graph.dot: the graph of a small CNN's loss, for Graphviz |
//!
//! Colours (Okabe–Ito, colour-blind friendly): input blue, kernel orange, output green,
//! padding grey; vermillion and purple mark the first and second position of a window.

mod autograd;
mod channels;
mod dilation;
mod grid;
mod groups;
mod im2col;
mod padding;
mod sliding;
mod svg;

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut dir = PathBuf::from("docs/tutorial/figures");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--output-dir" => dir = args.next().ok_or("--output-dir needs a value")?.into(),
            other => return Err(format!("unknown argument {other}; expected --output-dir").into()),
        }
    }
    std::fs::create_dir_all(&dir)?;

    let figures = [
        ("sliding-stride1.svg", sliding::sliding(1)),
        ("sliding-stride2.svg", sliding::sliding(2)),
        ("padding-valid-same.svg", padding::figure()),
        ("multichannel.svg", channels::figure()),
        ("im2col.svg", im2col::figure()),
        ("dilation.svg", dilation::figure()),
        ("groups.svg", groups::figure()),
    ];
    for (name, svg) in figures {
        let path = dir.join(name);
        svg.save(&path)?;
        println!("wrote {}", path.display());
    }

    // Graphviz lays out the graph; `dot` is a program, not a crate, so run it yourself.
    let dot = dir.join("autograd-graph.dot");
    std::fs::write(&dot, autograd::small_cnn_dot())?;
    println!("wrote {}", dot.display());
    println!("render it with:\n  dot -Tsvg {} -o {}", dot.display(), dir.join("autograd-graph.svg").display());
    Ok(())
}
