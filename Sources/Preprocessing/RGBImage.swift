/// An 8-bit RGB image, rows top to bottom, pixels interleaved (R, G, B).
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes.
    public let pixels: [UInt8]

    /// Throws `invalidConfiguration` when the pixel count does not fit the size.
    public init(width: Int, height: Int, pixels: [UInt8]) throws(PreprocessingError) {
        guard width > 0, height > 0, pixels.count == width * height * 3 else {
            throw PreprocessingError(
                .invalidConfiguration, "an RGB image of \(width)x\(height) needs \(max(0, width * height * 3)) bytes, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    init(unchecked width: Int, _ height: Int, _ pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The rectangle `x..<x+width`, `y..<y+height`, which must lie inside the image.
    func cropped(x: Int, y: Int, width w: Int, height h: Int) -> RGBImage {
        var out = [UInt8](repeating: 0, count: w * h * 3)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for row in 0..<h {
                    let from = ((y + row) * width + x) * 3
                    for i in 0..<(w * 3) { dst[row * w * 3 + i] = src[from + i] }
                }
            }
        }
        return RGBImage(unchecked: w, h, out)
    }
}
