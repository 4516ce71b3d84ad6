//! The window's icon: Plugback's own, embedded in the program (the PNG rendered from
//! assets/plugback.svg), so the window has it however Plugback was installed.

use eframe::egui;

/// Large enough for docks and Alt-Tab on high-density screens; the system scales it down.
const ICON_PNG: &[u8] = include_bytes!("../../assets/icons/plugback-256.png");

/// The icon as RGBA pixels; None (the system's default icon) if it cannot be decoded,
/// which the tests rule out.
pub fn window_icon() -> Option<egui::IconData> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(ICON_PNG));
    // Palette and 16-bit PNGs become 8-bit RGB(A), as egui wants.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().ok()?;
    let mut pixels = vec![0; reader.output_buffer_size()?];
    let frame = reader.next_frame(&mut pixels).ok()?;
    pixels.truncate(frame.buffer_size());
    let rgba = match frame.color_type {
        png::ColorType::Rgba => pixels,
        png::ColorType::Rgb => pixels
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], u8::MAX])
            .collect(),
        png::ColorType::GrayscaleAlpha => pixels
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        png::ColorType::Grayscale => pixels.iter().flat_map(|&g| [g, g, g, u8::MAX]).collect(),
        png::ColorType::Indexed => return None,
    };
    Some(egui::IconData {
        rgba,
        width: frame.width,
        height: frame.height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_icon_decodes_to_a_square_with_colour_and_transparent_corners() {
        let icon = window_icon().expect("the icon decodes");
        assert_eq!((icon.width, icon.height), (256, 256));
        assert_eq!(icon.rgba.len(), 256 * 256 * 4);
        let corner_alpha = icon.rgba[3];
        assert_eq!(
            corner_alpha, 0,
            "the rounded square leaves the corners clear"
        );
        let centre = ((128 * 256 + 128) * 4) as usize;
        assert_eq!(icon.rgba[centre + 3], u8::MAX, "the middle is opaque");
    }
}
