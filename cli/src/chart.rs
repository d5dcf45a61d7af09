//! A dependency-free SVG bar chart of NDCG@10 and HR@10 per model.

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `models`: (name, ndcg@10, hr@10).
pub fn bar_chart(title: &str, models: &[(String, f64, f64)]) -> String {
    let (w, h, left, top, bottom) = (640.0, 360.0, 60.0, 50.0, 60.0);
    let plot_h = h - top - bottom;
    let max = models.iter().map(|m| m.1.max(m.2)).fold(0.0f64, f64::max).max(1e-9) * 1.15;
    let group_w = (w - left - 20.0) / models.len().max(1) as f64;
    let bar_w = group_w * 0.35;
    let mut s = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#);
    s += &format!(r#"<rect width="{w}" height="{h}" fill="white"/><text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#, w / 2.0, esc(title));
    s += &format!(r#"<line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="black"/><line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#, h - bottom, h - bottom, w - 20.0, h - bottom);
    for t in 0..=4 {
        let v = max * t as f64 / 4.0;
        let y = h - bottom - plot_h * t as f64 / 4.0;
        s += &format!(r##"<text x="{}" y="{:.1}" text-anchor="end">{v:.3}</text><line x1="{left}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/>"##, left - 5.0, y + 4.0, w - 20.0);
    }
    for (i, (name, ndcg, hr)) in models.iter().enumerate() {
        let x0 = left + group_w * i as f64 + group_w * 0.15;
        for (j, (v, color)) in [(*ndcg, "#3b6fb6"), (*hr, "#e0892b")].iter().enumerate() {
            let bh = plot_h * v / max;
            let x = x0 + bar_w * j as f64;
            s += &format!(r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="{color}"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{v:.4}</text>"#, h - bottom - bh, bar_w - 2.0, x + bar_w / 2.0, h - bottom - bh - 3.0);
        }
        s += &format!(r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#, x0 + bar_w, h - bottom + 18.0, esc(name));
    }
    s += &format!(r##"<rect x="{}" y="{}" width="10" height="10" fill="#3b6fb6"/><text x="{}" y="{}">NDCG@10</text><rect x="{}" y="{}" width="10" height="10" fill="#e0892b"/><text x="{}" y="{}">HR@10</text>"##, left, h - 22.0, left + 14.0, h - 13.0, left + 90.0, h - 22.0, left + 104.0, h - 13.0);
    s + "</svg>\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_has_one_pair_of_bars_per_model() {
        let svg = bar_chart("t <x>", &[("pop".into(), 0.03, 0.07), ("localrank".into(), 0.1, 0.2)]);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 1 + 4 + 2);
        assert!(svg.contains("t &lt;x&gt;") && svg.contains(">localrank<") && svg.contains("0.2000"));
    }
}
