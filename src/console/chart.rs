//! The provisioning chart: stacked bars of what the IdP did per hour or per
//! day, as SVG built on the server (axes, a legend, a `<title>` tooltip per
//! bar; colours from the stylesheet, so it follows light and dark).

use chrono::{DateTime, Duration, DurationRound, Utc};
use maud::{Markup, html};

use crate::scim::activity::LoggedEvent;
use crate::scim::time;

/// The series, bottom to top.
pub const SERIES: [&str; 5] = ["created", "updated", "deactivated", "deleted", "failed"];

/// Which series an event counts in; `None` for what is not the IdP's
/// provisioning (policy and token changes).
pub fn series_of(event: &LoggedEvent) -> Option<usize> {
    if !matches!(event.resource_type.as_str(), "User" | "Group") {
        return None;
    }
    if !event.succeeded() {
        return Some(4);
    }
    Some(match event.operation.as_str() {
        "create" | "adopt" => 0,
        "deactivate" | "held" | "approved" => 2,
        "delete" => 3,
        _ => 1,
    })
}

/// Bars of equal width from `start`, `step` apart.
pub struct Buckets {
    pub start: DateTime<Utc>,
    pub step: Duration,
    pub counts: Vec<[u32; 5]>,
}

impl Buckets {
    /// The last `n` steps up to now (the current hour or day last).
    pub fn ending_now(step: Duration, n: usize) -> Buckets {
        let now = Utc::now();
        let current = now.duration_trunc(step).unwrap_or(now);
        let back = i32::try_from(n.saturating_sub(1)).unwrap_or(0);
        Buckets {
            start: current - step * back,
            step,
            counts: vec![[0; 5]; n],
        }
    }

    pub fn add(&mut self, event: &LoggedEvent) {
        let (Some(series), Some(at)) = (series_of(event), time::parse(&event.occurred_at)) else {
            return;
        };
        if at < self.start {
            return;
        }
        let index = (at - self.start).num_seconds() / self.step.num_seconds().max(1);
        if let Some(bar) = usize::try_from(index)
            .ok()
            .and_then(|i| self.counts.get_mut(i))
        {
            bar[series] += 1;
        }
    }

    pub fn bar_start(&self, index: usize) -> DateTime<Utc> {
        self.start + self.step * i32::try_from(index).unwrap_or(0)
    }

    pub fn totals(&self) -> [u32; 5] {
        let mut totals = [0; 5];
        for bar in &self.counts {
            for (total, n) in totals.iter_mut().zip(bar) {
                *total += n;
            }
        }
        totals
    }
}

/// A tick step that gives about four lines up to `max`.
fn tick_step(max: u32) -> u32 {
    let rough = (max / 4).max(1);
    let magnitude = 10u32.pow(rough.ilog10());
    [1, 2, 5, 10]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= rough)
        .unwrap_or(rough)
}

/// `failures_href(from, to)`: where a bar's failed part links.
pub fn render(
    buckets: &Buckets,
    hourly: bool,
    failures_href: impl Fn(&str, &str) -> String,
) -> Markup {
    const WIDTH: f64 = 900.0;
    const HEIGHT: f64 = 260.0;
    const LEFT: f64 = 44.0;
    const BOTTOM: f64 = 28.0;
    const TOP: f64 = 10.0;
    let plot_width = WIDTH - LEFT - 8.0;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let max = buckets
        .counts
        .iter()
        .map(|bar| bar.iter().sum::<u32>())
        .max()
        .unwrap_or(0)
        .max(1);
    let step = tick_step(max);
    let top_value = max.div_ceil(step) * step;
    let y = |value: u32| TOP + plot_height - f64::from(value) / f64::from(top_value) * plot_height;
    let slot = plot_width / buckets.counts.len().max(1) as f64;
    let bar_width = (slot * 0.8).max(1.0);
    // About eight labels along the time axis.
    let label_every = buckets.counts.len().div_ceil(8).max(1);
    let label = |at: DateTime<Utc>| {
        if hourly {
            at.format("%d %H:00").to_string()
        } else {
            at.format("%b %d").to_string()
        }
    };
    let ticks: Vec<u32> = (0..=top_value / step).map(|i| i * step).collect();
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="group" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg" {
                title id="chart-title" {
                    "Provisioning operations per " (if hourly { "hour, last 48 hours" } else { "day, last 90 days" })
                }
                @for tick in &ticks {
                    line.grid x1=(LEFT) x2=(WIDTH - 8.0) y1=(y(*tick)) y2=(y(*tick)) {}
                    text x=(LEFT - 6.0) y=(y(*tick) + 4.0) text-anchor="end" { (tick) }
                }
                line.axis x1=(LEFT) x2=(LEFT) y1=(TOP) y2=(TOP + plot_height) {}
                @for (index, bar) in buckets.counts.iter().enumerate() {
                    @let x = LEFT + slot * index as f64 + (slot - bar_width) / 2.0;
                    @let from = buckets.bar_start(index);
                    @let to = from + buckets.step;
                    @if index % label_every == 0 {
                        text x=(x + bar_width / 2.0) y=(HEIGHT - 8.0) text-anchor="middle" { (label(from)) }
                    }
                    @if bar.iter().sum::<u32>() > 0 {
                        g {
                            title {
                                (label(from)) " UTC: "
                                @for (i, name) in SERIES.iter().enumerate() {
                                    @if i > 0 { ", " }
                                    (bar[i]) " " (name)
                                }
                            }
                            @for (i, name) in SERIES.iter().enumerate() {
                                @if bar[i] > 0 {
                                    @let below: u32 = bar[..i].iter().sum();
                                    @let y_top = y(below + bar[i]);
                                    @let rect_height = y(below) - y_top;
                                    @if i == 4 {
                                        a href=(failures_href(&time::format(from), &time::format(to)))
                                            aria-label={ (bar[i]) " failed at " (label(from)) " UTC: see them" } {
                                            rect class={ "s-" (name) } x=(x) y=(y_top) width=(bar_width) height=(rect_height) {}
                                        }
                                    } @else {
                                        rect class={ "s-" (name) } x=(x) y=(y_top) width=(bar_width) height=(rect_height) {}
                                    }
                                }
                            }
                        }
                    }
                }
            }
            figcaption {
                ul.legend {
                    @for (i, name) in SERIES.iter().enumerate() {
                        li { span class={ "s-" (name) } {} (name) " " strong { (buckets.totals()[i]) } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(operation: &str, resource_type: &str, status: i32, at: &str) -> LoggedEvent {
        LoggedEvent {
            occurred_at: at.to_owned(),
            token_label: None,
            client: "entra".into(),
            operation: operation.into(),
            resource_type: resource_type.into(),
            resource_id: None,
            resource_name: None,
            fields_changed: Vec::new(),
            status,
            scim_type: None,
            detail: None,
        }
    }

    #[test]
    fn events_fall_in_their_bar_and_series() {
        let start = time::parse("2026-11-26T00:00:00Z").unwrap();
        let mut buckets = Buckets {
            start,
            step: Duration::hours(1),
            counts: vec![[0; 5]; 3],
        };
        buckets.add(&event("create", "User", 201, "2026-11-26T00:10:00Z"));
        buckets.add(&event("create", "User", 409, "2026-11-26T00:20:00Z"));
        buckets.add(&event("deactivate", "User", 200, "2026-11-26T02:59:59Z"));
        buckets.add(&event("update", "Token", 200, "2026-11-26T01:00:00Z"));
        buckets.add(&event("create", "User", 201, "2026-11-26T03:00:00Z"));
        buckets.add(&event("create", "User", 201, "2026-11-25T23:59:00Z"));
        assert_eq!(
            buckets.counts,
            vec![[1, 0, 0, 0, 1], [0; 5], [0, 0, 1, 0, 0]]
        );
        assert_eq!(buckets.totals(), [1, 0, 1, 0, 1]);
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(1), 1);
        assert_eq!(tick_step(9), 2);
        assert_eq!(tick_step(37), 10);
        assert_eq!(tick_step(10_000), 5_000);
    }

    #[test]
    fn the_svg_has_a_title_per_bar_and_links_failures() {
        let start = time::parse("2026-11-26T00:00:00Z").unwrap();
        let mut buckets = Buckets {
            start,
            step: Duration::hours(1),
            counts: vec![[0; 5]; 2],
        };
        buckets.add(&event("create", "User", 500, "2026-11-26T01:10:00Z"));
        let svg = render(&buckets, true, |from, to| {
            format!("/f?since={from}&until={to}")
        })
        .into_string();
        assert!(
            svg.contains("26 01:00 UTC: 0 created, 0 updated, 0 deactivated, 0 deleted, 1 failed"),
            "{svg}"
        );
        assert!(svg.contains("/f?since=2026-11-26T01:00:00"), "{svg}");
    }
}
