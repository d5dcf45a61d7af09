//! Image placeholders: the data set has no pictures, so each product gets an SVG tile in its
//! department's colour with the category's initials. Deterministic, tiny, no external request.
use crate::catalogue::Product;

/// A stable colour per department (FNV-1a of the name picks a hue).
fn hue(name: &str) -> u32 {
    let mut h: u32 = 0x811c9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x01000193);
    }
    h % 360
}

fn initials(category: &str) -> String {
    let words: Vec<&str> = category
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut out: String = words
        .iter()
        .take(2)
        .filter_map(|w| w.chars().next())
        .flat_map(char::to_uppercase)
        .collect();
    if out.is_empty() {
        out.push('?');
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn svg(product: &Product) -> String {
    let h = hue(&product.category);
    let label = escape(&initials(&product.category));
    let caption = escape(&product.category);
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 180" role="img" aria-label="{caption}"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl({h},70%,92%)"/><stop offset="1" stop-color="hsl({h},60%,80%)"/></linearGradient></defs><rect width="240" height="180" fill="url(#g)"/><circle cx="120" cy="82" r="46" fill="hsl({h},55%,45%)"/><text x="120" y="97" font-family="system-ui,sans-serif" font-size="40" font-weight="700" fill="#fff" text-anchor="middle">{label}</text><text x="120" y="160" font-family="system-ui,sans-serif" font-size="13" fill="hsl({h},45%,25%)" text-anchor="middle">{caption}</text></svg>"##
    )
}

/// The placeholder as a `data:` URL, percent-encoding what a URL cannot hold.
pub fn data_url(product: &Product) -> String {
    let mut out = String::from("data:image/svg+xml,");
    for b in svg(product).bytes() {
        if b.is_ascii_alphanumeric() || b" -_.!~*'()/:;=,?@&+$".contains(&b) {
            out.push(if b == b' ' { ' ' } else { b as char });
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.replace(' ', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_and_escaping() {
        assert_eq!(initials("Baked Bread/Buns/Rolls"), "BB");
        assert_eq!(initials("Yogurt"), "Y");
        assert_eq!(initials("--"), "?");
        assert_eq!(escape("<a&b>"), "&lt;a&amp;b&gt;");
        let p = Product {
            id: "1".into(),
            title: "t".into(),
            category: "Tea & <Co>".into(),
            department: "d".into(),
            price: None,
            popularity: 1,
        };
        let url = data_url(&p);
        assert!(url.starts_with("data:image/svg+xml,%3Csvg"), "{url}");
        assert!(!url.contains(['<', '>', '#', '"', ' ']), "{url}");
    }
}
