import Inference

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

    /// The rectangle `x..<x+width`, `y..<y+height`; throws `invalidConfiguration` unless it is
    /// non-empty and lies inside the image.
    public func crop(x: Int, y: Int, width w: Int, height h: Int) throws(PreprocessingError) -> RGBImage {
        guard x >= 0, y >= 0, w > 0, h > 0, x + w <= width, y + h <= height else {
            throw PreprocessingError(.invalidConfiguration, "crop \(w)x\(h) at (\(x), \(y)) is outside the \(width)x\(height) image")
        }
        return cropped(x: x, y: y, width: w, height: h)
    }

    /// Pixels scaled to [0, 1], normalised per channel as `(v / 255 - mean[c]) / std[c]`, laid out as a
    /// float32 `[1, 3, height, width]` tensor (channels R, G, B). `mean` and `std` need three values.
    public func normalizedTensor(mean: [Float], std: [Float]) throws(PreprocessingError) -> Tensor {
        guard mean.count == 3, std.count == 3, !std.contains(0) else {
            throw PreprocessingError(.invalidConfiguration, "mean and std need three values each, std non-zero")
        }
        let plane = width * height
        var values = [Float](repeating: 0, count: 3 * plane)
        pixels.withUnsafeBufferPointer { src in
            values.withUnsafeMutableBufferPointer { dst in
                for channel in 0..<3 {
                    let m = mean[channel], s = std[channel]
                    for i in 0..<plane { dst[channel * plane + i] = (Float(src[i * 3 + channel]) / 255 - m) / s }
                }
            }
        }
        // The value count equals the shape's element count by construction.
        return try! Tensor(float32: values, shape: [1, 3, height, width])
    }

    /// The rectangle, unchecked (callers guarantee it lies inside the image).
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
