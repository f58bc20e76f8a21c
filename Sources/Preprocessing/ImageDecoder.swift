internal import CImageCodecs

/// Decodes JPEG (libjpeg-turbo, accurate integer IDCT and fancy upsampling, as Pillow decodes) and PNG
/// (libpng) bytes into an ``RGBImage``. Grayscale and palette images are expanded to RGB; an alpha
/// channel is dropped, as Pillow's `convert("RGB")` does.
public enum ImageDecoder {
    /// The image formats recognised by their first bytes.
    public enum Format: String, Sendable { case jpeg, png }

    /// The format of `bytes`, or `nil` when neither JPEG nor PNG.
    public static func format(of bytes: [UInt8]) -> Format? {
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        return nil
    }

    /// Decodes `bytes`; `name` (a file name or input binding) is reported in errors. The size in
    /// the header is checked against `maxPixels` before any pixel memory is allocated.
    ///
    /// - Throws: `emptyInput`, `unsupportedImage` (not JPEG/PNG), `corruptImage` (the decoder's message
    ///   is kept; a truncated JPEG counts as corrupt, as in Pillow), `tooLarge` (more than `maxPixels`).
    public static func decode(
        _ bytes: [UInt8], name: String = "image", maxPixels: Int = defaultMaxPixels
    ) throws(PreprocessingError) -> RGBImage {
        guard !bytes.isEmpty else {
            throw PreprocessingError(.emptyInput, "the image has no bytes", input: name)
        }
        switch format(of: bytes) {
        case .jpeg: return try decodeJPEG(bytes, name: name, maxPixels: maxPixels)
        case .png: return try decodePNG(bytes, name: name, maxPixels: maxPixels)
        case nil:
            let head = bytes.prefix(8).map { String($0, radix: 16) }.joined(separator: " ")
            throw PreprocessingError(
                .unsupportedImage, "not a JPEG or PNG image (first bytes: \(head)); send image/jpeg or image/png", input: name)
        }
    }

    private static func decodeJPEG(_ bytes: [UInt8], name: String, maxPixels: Int) throws(PreprocessingError) -> RGBImage {
        guard let decompressor = TurboJPEGDecompressor() else {
            throw PreprocessingError(.corruptImage, "cannot start the JPEG decoder", input: name)
        }
        let handle = decompressor.handle
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, bytes, UInt(bytes.count), &width, &height, &subsampling, &colorspace) == 0 else {
            throw PreprocessingError(
                .corruptImage, "the JPEG header cannot be read", input: name, libraryMessage: decompressor.lastError)
        }
        guard width > 0, height > 0 else {
            throw PreprocessingError(.corruptImage, "the JPEG claims a size of \(width)x\(height)", input: name)
        }
        try checkSize(Int(width), Int(height), maxPixels: maxPixels, name: name)
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * 3)
        let status = tjDecompress2(handle, bytes, UInt(bytes.count), &pixels, width, 0, height, Int32(TJPF_RGB.rawValue), 0)
        // Like Pillow: a truncated image ("premature end" warnings) is an error; other libjpeg warnings
        // (e.g. extraneous bytes before a marker) leave a complete image and are accepted.
        if status != 0 {
            let message = decompressor.lastError
            let isWarning = tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue)
            if !isWarning || message.lowercased().contains("premature end") {
                throw PreprocessingError(
                    .corruptImage, "the JPEG data is damaged or truncated", input: name, libraryMessage: message)
            }
        }
        return RGBImage(unchecked: Int(width), Int(height), pixels)
    }

    private static func decodePNG(_ bytes: [UInt8], name: String, maxPixels: Int) throws(PreprocessingError) -> RGBImage {
        let reader = PNGReader()
        guard png_image_begin_read_from_memory(&reader.image, bytes, bytes.count) != 0 else {
            throw PreprocessingError(.corruptImage, "the PNG header cannot be read", input: name, libraryMessage: reader.message)
        }
        let width = Int(reader.image.width), height = Int(reader.image.height)
        guard width > 0, height > 0 else {
            throw PreprocessingError(.corruptImage, "the PNG claims a size of \(width)x\(height)", input: name)
        }
        try checkSize(width, height, maxPixels: maxPixels, name: name)
        reader.image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)  // PNG_FORMAT_RGBA
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        guard png_image_finish_read(&reader.image, nil, &rgba, 0, nil) != 0 else {
            throw PreprocessingError(.corruptImage, "the PNG data is damaged or truncated", input: name, libraryMessage: reader.message)
        }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        rgba.withUnsafeBufferPointer { src in
            rgb.withUnsafeMutableBufferPointer { dst in
                for i in 0..<(width * height) {
                    dst[i * 3] = src[i * 4]
                    dst[i * 3 + 1] = src[i * 4 + 1]
                    dst[i * 3 + 2] = src[i * 4 + 2]
                }
            }
        }
        return RGBImage(unchecked: width, height, rgb)
    }

    /// Default largest image decoded, pixels (4096 × 4096; a 12 MP phone photo fits). A PNG of
    /// 16000 × 16000 compresses to 750 KB but needs 1.8 GB decoded: it is refused from its header.
    public static let defaultMaxPixels = 4096 * 4096

    /// Refuses a `width` × `height` image over `maxPixels` (both sides come from 32-bit header
    /// fields, so the product fits in 64 bits).
    private static func checkSize(_ width: Int, _ height: Int, maxPixels: Int, name: String) throws(PreprocessingError) {
        guard width * height <= maxPixels else {
            throw PreprocessingError(
                .tooLarge, "the image is \(width)x\(height) = \(width * height) pixels; the limit is \(maxPixels) pixels; send a smaller image",
                input: name)
        }
    }
}

/// Owns a TurboJPEG decompressor handle; used on one thread and destroyed in `deinit`.
private final class TurboJPEGDecompressor {
    let handle: tjhandle

    init?() {
        guard let handle = tjInitDecompress() else { return nil }
        self.handle = handle
    }

    deinit { tjDestroy(handle) }

    /// TurboJPEG's message for the last failure on this handle.
    var lastError: String { String(cString: tjGetErrorStr2(handle)) }
}

/// Owns libpng's simplified-API reader state; `png_image_free` in `deinit` releases whatever a failed
/// or abandoned read left allocated (it is a no-op after a completed read).
private final class PNGReader {
    var image = png_image()

    init() { image.version = UInt32(PNG_IMAGE_VERSION) }

    deinit { png_image_free(&image) }

    /// libpng's message, stored in the fixed-size `message` field.
    var message: String {
        withUnsafeBytes(of: image.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }
}
