//! Post-mortem Markdown rendered for pages and sharing: any text renders, and what comes out
//! never carries a script tag or a javascript: link.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let html = firebreak_server::postmortems::service::render_html(text).to_lowercase();
    assert!(!html.contains("<script"), "{html}");
    // Text cannot make a tag (its `<` is escaped), so these find only real tags.
    assert!(!html.contains("<a href=\"javascript:"), "{html}");
    assert!(!html.contains("<img src=\"javascript:"), "{html}");
});
