//! Pictures of a run, drawn with `plotters` as PNG bytes from plain data: the training curves,
//! the confusion matrix as a heat map, and the learned weight templates.
//!
//! Text is set in DejaVu Sans, embedded in the binary (`assets/`, Bitstream Vera licence), so
//! that drawing needs no system font library.

use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use crate::{EvalReport, LearnerError};

static FONT: Once = Once::new();

fn register() {
    FONT.call_once(|| {
        let font: &'static [u8] = include_bytes!("../../assets/DejaVuSans.ttf");
        // The font is embedded and valid; a failure here would only lose the text.
        let _ = register_font("sans-serif", FontStyle::Normal, font);
    });
}

fn plot_error(err: impl std::fmt::Display) -> LearnerError {
    LearnerError::Plot(err.to_string())
}

/// Draws with `draw` on a white `width x height` canvas; returns the picture as PNG bytes.
fn render(
    (width, height): (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), LearnerError>,
) -> Result<Vec<u8>, LearnerError> {
    register();
    let mut pixels = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        draw(&root)?;
        root.present().map_err(plot_error)?;
    }
    let image = image::RgbImage::from_raw(width, height, pixels)
        .ok_or_else(|| plot_error("the canvas has the wrong size"))?;
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(plot_error)?;
    Ok(png.into_inner())
}

/// A run's curves: one `(epoch, value)` point per epoch and series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curves {
    /// Epochs of the run (the x axis ends there).
    pub epochs: usize,
    /// Mean training loss per epoch.
    pub train_loss: Vec<(f64, f64)>,
    /// Validation loss per epoch.
    pub valid_loss: Vec<(f64, f64)>,
    /// Test loss per epoch (a report only).
    pub test_loss: Vec<(f64, f64)>,
    /// Training accuracy per epoch, in percent.
    pub train_accuracy: Vec<(f64, f64)>,
    /// Validation accuracy per epoch, in percent.
    pub valid_accuracy: Vec<(f64, f64)>,
    /// Test accuracy per epoch, in percent.
    pub test_accuracy: Vec<(f64, f64)>,
}

/// `curves.png`: loss and accuracy per epoch, training, validation and test.
pub fn curves_png(curves: &Curves) -> Result<Vec<u8>, LearnerError> {
    let epochs = curves.epochs.max(1);
    render((1200, 500), |root| {
        root.fill(&WHITE).map_err(plot_error)?;
        let (left, right) = root.split_horizontally(600);
        // Losses fall and accuracies rise: each legend goes where its lines are not.
        panel(
            &left,
            ("Loss", "loss"),
            epochs,
            &[
                ("train", &curves.train_loss, BLUE),
                ("validation", &curves.valid_loss, RED),
                ("test", &curves.test_loss, BLACK),
            ],
            SeriesLabelPosition::UpperRight,
        )?;
        panel(
            &right,
            ("Accuracy", "accuracy (%)"),
            epochs,
            &[
                ("train", &curves.train_accuracy, BLUE),
                ("validation", &curves.valid_accuracy, RED),
                ("test", &curves.test_accuracy, BLACK),
            ],
            SeriesLabelPosition::LowerRight,
        )
    })
}

type Series<'a> = (&'a str, &'a [(f64, f64)], RGBColor);

fn panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    (title, y_label): (&str, &str),
    epochs: usize,
    series: &[Series<'_>],
    legend: SeriesLabelPosition,
) -> Result<(), LearnerError> {
    let values = series
        .iter()
        .flat_map(|(_, points, _)| points.iter().map(|(_, y)| *y));
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    let (low, high) = if low.is_finite() && high > low {
        let pad = (high - low) * 0.05;
        (low - pad, high + pad)
    } else {
        (0.0, 1.0)
    };
    let x_end = if epochs > 1 { epochs as f64 } else { 2.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1f64..x_end, low..high)
        .map_err(plot_error)?;
    // Whole epochs on the x axis (at most about ten labels), a light grid, no minor lines.
    let step = (x_end as usize).div_ceil(10).max(1);
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_label)
        .x_labels((x_end as usize - 1) / step + 1)
        .x_label_formatter(&|x| {
            if x.fract().abs() < 1e-9 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(WHITE)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(plot_error)?;
    for (name, points, color) in series {
        if points.is_empty() {
            continue;
        }
        let color = *color;
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(plot_error)?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                points
                    .iter()
                    .map(|point| Circle::new(*point, 3, color.filled())),
            )
            .map_err(plot_error)?;
    }
    chart
        .configure_series_labels()
        .position(legend)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(plot_error)
}

/// `confusion.png`: the confusion matrix as a heat map (rows: true class, columns: predicted),
/// each cell's count centred in it, in white on dark cells and black on light ones.
pub fn confusion_png(report: &EvalReport) -> Result<Vec<u8>, LearnerError> {
    let classes = report.confusion.len().max(1);
    let largest = report
        .confusion
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let cell = 56u32;
    let grid = cell * classes as u32;
    // Room for the row names (Fashion-MNIST's are words) and the axis descriptions.
    let longest = report.class_names.iter().map(|n| n.chars().count()).max();
    let left = 55 + 8 * longest.unwrap_or(1) as u32;
    let (bottom, top, right) = (55u32, 50u32, 20u32);
    render((left + grid + right, top + grid + bottom), |root| {
        root.fill(&WHITE).map_err(plot_error)?;
        let n = classes as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "Confusion matrix, test accuracy {:.2} %",
                    100.0 * report.accuracy
                ),
                ("sans-serif", 20),
            )
            .margin_top(10)
            .margin_right(right as i32)
            .x_label_area_size(bottom as i32 - 10)
            .y_label_area_size(left as i32)
            .build_cartesian_2d(0f64..n, 0f64..n)
            .map_err(plot_error)?;
        let names = report.class_names.clone();
        let row_names = names.clone();
        // One label at the middle of each column and row.
        let name_at = |names: &[String], value: f64, flip: bool| {
            let index = value.floor() as usize;
            if (value - value.floor() - 0.5).abs() > 1e-6 || index >= names.len() {
                return String::new();
            }
            let index = if flip { names.len() - 1 - index } else { index };
            names[index].clone()
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("predicted class")
            .y_desc("true class")
            .x_labels(2 * classes + 1)
            .y_labels(2 * classes + 1)
            .x_label_formatter(&move |x| name_at(&names, *x, false))
            .y_label_formatter(&move |y| name_at(&row_names, *y, true))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .draw()
            .map_err(plot_error)?;
        for (actual, row) in report.confusion.iter().enumerate() {
            for (predicted, &count) in row.iter().enumerate() {
                let (x, y) = (predicted as f64, n - 1.0 - actual as f64);
                // Square-root scale, so that the few large diagonal cells do not wash out the
                // off-diagonal ones.
                let strength = (count as f64 / largest).sqrt();
                let shade = (255.0 * (1.0 - strength)).round() as u8;
                let fill = if actual == predicted {
                    RGBColor(shade, shade, 255)
                } else {
                    RGBColor(255, shade, shade)
                };
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x, y), (x + 1.0, y + 1.0)],
                        fill.filled(),
                    )))
                    .map_err(plot_error)?;
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x, y), (x + 1.0, y + 1.0)],
                        WHITE.stroke_width(1),
                    )))
                    .map_err(plot_error)?;
                let ink = if luminance(fill) < 0.55 { WHITE } else { BLACK };
                let font = ("sans-serif", 15)
                    .into_font()
                    .color(&ink)
                    .pos(Pos::new(HPos::Center, VPos::Center));
                let label = Text::new(count.to_string(), (x + 0.5, y + 0.5), font);
                chart.plotting_area().draw(&label).map_err(plot_error)?;
            }
        }
        Ok(())
    })
}

/// The colour scale of one weight template: the 98th percentile of the weights' magnitudes, so
/// that a few extreme pixels do not wash out the rest (they saturate instead).
fn robust_scale(template: &[f32]) -> f32 {
    let mut magnitudes: Vec<f32> = template.iter().map(|w| w.abs()).collect();
    magnitudes.sort_by(f32::total_cmp);
    let at = (magnitudes.len() * 98 / 100).min(magnitudes.len().saturating_sub(1));
    magnitudes.get(at).copied().unwrap_or(0.0).max(f32::EPSILON)
}

/// Relative luminance of `color` in `[0, 1]` (sRGB weights), to pick readable ink.
fn luminance(RGBColor(r, g, b): RGBColor) -> f64 {
    (0.2126 * f64::from(r) + 0.7152 * f64::from(g) + 0.0722 * f64::from(b)) / 255.0
}

/// A picture of heat maps, one per label, each `height x width` values drawn with its own
/// colour scale (red: positive, blue: negative, white: near 0): the linear model's per-class
/// weight templates (`weights.png`), or any model's maps
/// ([`model::ExtraArtifact::Heatmaps`]).
pub fn heatmaps_png(
    height: usize,
    width: usize,
    maps: &[(String, Vec<f32>)],
) -> Result<Vec<u8>, LearnerError> {
    if maps.is_empty() || height == 0 || width == 0 || height > 512 || width > 512 {
        return Err(plot_error(format!(
            "cannot draw {} maps of {height}x{width} (1 to 512 a side)",
            maps.len()
        )));
    }
    if let Some((label, values)) = maps.iter().find(|(_, v)| v.len() != height * width) {
        return Err(plot_error(format!(
            "the map {label:?} has {} values, not {height}x{width}",
            values.len()
        )));
    }
    let count = maps.len().min(100);
    let columns = count.clamp(1, 5);
    let grid_rows = count.div_ceil(columns);
    let scale = (224 / height.max(width)).clamp(1, 8) as u32;
    let cell = (width as u32 * scale + 20, height as u32 * scale + 40);
    render(
        (
            (cell.0 * columns as u32).max(600),
            cell.1 * grid_rows as u32 + 30,
        ),
        |root| {
            root.fill(&WHITE).map_err(plot_error)?;
            let (title, body) = root.split_vertically(30);
            title
                .titled(
                    "Learned weights per class (red: evidence for, blue: against)",
                    ("sans-serif", 18),
                )
                .map_err(plot_error)?;
            let areas = body.split_evenly((grid_rows, columns));
            for ((label, values), area) in maps.iter().zip(areas.iter()).take(count) {
                let largest = robust_scale(values);
                let area = area.titled(label, ("sans-serif", 16)).map_err(plot_error)?;
                for (pixel, weight) in values.iter().enumerate() {
                    let (row, col) = ((pixel / width) as i32, (pixel % width) as i32);
                    let strength = (weight / largest).clamp(-1.0, 1.0);
                    let fade = (255.0 * (1.0 - strength.abs())) as u8;
                    let color = if strength >= 0.0 {
                        RGBColor(255, fade, fade)
                    } else {
                        RGBColor(fade, fade, 255)
                    };
                    let (x, y) = (10 + col * scale as i32, 5 + row * scale as i32);
                    area.draw(&Rectangle::new(
                        [(x, y), (x + scale as i32, y + scale as i32)],
                        color.filled(),
                    ))
                    .map_err(plot_error)?;
                }
            }
            Ok(())
        },
    )
}

/// `lr-find.png`: the range test's loss (raw and smoothed) against the learning rate on a log
/// scale, the suggested rate marked.
pub fn lr_find_png(points: &[(f64, f64, f64)], suggestion: f64) -> Result<Vec<u8>, LearnerError> {
    if points.len() < 2 {
        return Err(plot_error("fewer than two points to draw"));
    }
    render((900, 500), |root| {
        root.fill(&WHITE).map_err(plot_error)?;
        let (first, last) = (points[0].0, points[points.len() - 1].0);
        let smoothed = points.iter().map(|p| p.2);
        let (low, high) = smoothed.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
            (lo.min(y), hi.max(y))
        });
        // The smoothed curve decides the scale: the raw losses' spikes are clipped.
        let pad = ((high - low) * 0.1).max(1e-6);
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("Learning-rate range test: suggested {suggestion:.3e}"),
                ("sans-serif", 22),
            )
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((first..last).log_scale(), (low - pad)..(high + pad))
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("learning rate (log scale)")
            .y_desc("training loss")
            .x_label_formatter(&|x| format!("{x:.0e}"))
            .bold_line_style(RGBColor(225, 225, 225))
            .light_line_style(WHITE)
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(plot_error)?;
        let top = high + pad;
        let clip = |y: f64| y.min(top);
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.0, clip(p.1))),
                RGBColor(170, 170, 220).stroke_width(1),
            ))
            .map_err(plot_error)?
            .label("loss")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RGBColor(170, 170, 220)));
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.0, p.2)),
                BLUE.stroke_width(2),
            ))
            .map_err(plot_error)?
            .label("smoothed")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(
                [(suggestion, low - pad), (suggestion, top)],
                RED.stroke_width(2),
            ))
            .map_err(plot_error)?
            .label("suggested")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(plot_error)
    })
}
